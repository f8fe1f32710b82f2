package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/policy"
)

// handle decodes one request, runs it, and returns the encoded response.
func (inst *instance) handle(ctx context.Context, b []byte) []byte {
	var req abi.Request
	var resp abi.Response
	if err := abi.DecodeRequest(b, &req); err != nil {
		resp.Err = abi.NewError(abi.Invalid, err.Error())
	} else {
		inst.dispatch(ctx, &req, &resp)
	}
	// Room for the envelope and the value up front: one allocation for a get.
	return abi.AppendResponse(make([]byte, 0, 64+len(resp.Value)), &resp)
}

func (inst *instance) dispatch(ctx context.Context, req *abi.Request, resp *abi.Response) {
	switch req.Op {
	case abi.OpTask:
		resp.Task = inst.task
	case abi.OpFinish:
		if req.Err != nil && !req.Err.Kind.Valid() {
			// A guest's kind is only a claim: keep a known kind however it is spelt,
			// never pass an unknown one on to callers who switch on kinds.
			k, ok := abi.ParseKind(string(req.Err.Kind))
			if !ok {
				k = abi.Unknown
			}
			req.Err.Kind = k
		}
		if req.Err != nil {
			// The guest should have cut it (abi.MaxErrorMessageBytes); a hostile one did not.
			req.Err.Message = abi.CutMessage(req.Err.Message)
		}
		inst.finished, inst.result = true, req.Err
	case abi.OpOpen:
		var maxValue int64
		resp.Handle, maxValue, resp.Err = inst.open(req.ID)
		if req.Limits {
			resp.MaxValueBytes = maxValue
		}
	case abi.OpRelease:
		inst.release(req.Handle)
		resp.OK = true
	case abi.OpGet, abi.OpSet, abi.OpHas, abi.OpDelete, abi.OpEntry, abi.OpPut, abi.OpIncr:
		resp.Err = inst.keyOp(ctx, req, resp)
	case abi.OpList:
		resp.Err = inst.list(ctx, req, resp)
	case abi.OpInfo:
		resp.Err = inst.info(req, resp)
	default:
		resp.Err = abi.NewError(abi.Invalid, fmt.Sprintf("unknown operation %d", req.Op))
	}
}

// open is store.get(id). The permission check comes before the existence check, so a
// module cannot probe which store ids exist.
func (inst *instance) open(id string) (uint32, int64, *abi.Error) {
	if id == "" {
		return 0, 0, abi.NewError(abi.Invalid, "store id is empty")
	}
	if e := inst.authorize(policy.Request{Action: policy.ActionStoreGet, Resource: id}); e != nil {
		return 0, 0, e
	}
	s, ok := inst.host.stores[id]
	if !ok {
		return 0, 0, abi.NewError(abi.NotFound, fmt.Sprintf("store %q not found", id))
	}
	h, e := inst.newHandle(s)
	if e != nil {
		return 0, 0, e
	}
	return h, int64(s.maxValueBytes), nil
}

// maxHandles bounds the stores one run holds open at once, so a loop of store.get cannot
// grow the host's memory for as long as it runs.
const maxHandles = 1024

// handleSlot is one entry of a run's handle table. A handle is the slot's index plus one
// in its low 16 bits and the slot's generation in its high 16, so that a released handle
// never reaches the store that later reuses its slot.
type handleSlot struct {
	store *Store
	gen   uint16
}

func (inst *instance) newHandle(s *Store) (uint32, *abi.Error) {
	var i int
	switch {
	case len(inst.free) > 0:
		i = inst.free[len(inst.free)-1]
		inst.free = inst.free[:len(inst.free)-1]
		inst.handles[i].gen++
	case len(inst.handles) < maxHandles:
		i = len(inst.handles)
		inst.handles = append(inst.handles, handleSlot{})
	default:
		return 0, abi.NewError(abi.Invalid, fmt.Sprintf("too many open stores (%d): release some", maxHandles))
	}
	inst.handles[i].store = s
	return uint32(inst.handles[i].gen)<<16 | uint32(i+1), nil
}

// slot returns the slot a handle names, if the handle was ever issued for it.
func (inst *instance) slot(h uint32) (*handleSlot, int, bool) {
	i := int(h&0xffff) - 1
	if i < 0 || i >= len(inst.handles) || uint16(h>>16) > inst.handles[i].gen {
		return nil, 0, false
	}
	return &inst.handles[i], i, true
}

func (inst *instance) release(h uint32) {
	if sl, i, ok := inst.slot(h); ok && sl.gen == uint16(h>>16) && sl.store != nil {
		sl.store = nil
		// A slot whose generation would wrap is retired, so an old handle can never
		// match again.
		if sl.gen < 0xffff {
			inst.free = append(inst.free, i)
		}
	}
}

// opActions maps each key operation to the action a policy decides.
var opActions = map[abi.Op]string{
	abi.OpGet:    policy.ActionKeyGet,
	abi.OpSet:    policy.ActionKeySet,
	abi.OpHas:    policy.ActionKeyHas,
	abi.OpDelete: policy.ActionKeyDelete,
	abi.OpEntry:  policy.ActionKeyGet,
	abi.OpPut:    policy.ActionKeySet,
	abi.OpIncr:   policy.ActionKeySet,
}

// keyOp runs a key operation. The checks run in the order of the spec decisions:
// released store, key, the operation's other arguments, permission, then the engine.
func (inst *instance) keyOp(ctx context.Context, req *abi.Request, resp *abi.Response) *abi.Error {
	s, e := inst.store(req.Handle)
	if e != nil {
		return e
	}
	if e := abi.CheckKey(req.Key, s.maxKeyBytes); e != nil {
		return e
	}
	if e := abi.CheckTTL(req.TTL); e != nil {
		return e
	}
	ttl := time.Duration(req.TTL) * time.Millisecond
	switch req.Op {
	case abi.OpSet, abi.OpPut:
		if e := abi.CheckValue(req.Value, s.maxValueBytes); e != nil {
			return e
		}
		if req.Op == abi.OpPut && req.OnlyIfAbsent && req.IfVersion != nil {
			return abi.NewError(abi.Invalid, "only_if_absent and if_version cannot be used together")
		}
	case abi.OpIncr:
		if math.IsNaN(req.Delta) || math.IsInf(req.Delta, 0) {
			return abi.NewError(abi.Invalid, "delta must be a finite number")
		}
	}
	key := string(req.Key)
	if e := inst.authorize(policy.Request{Action: opActions[req.Op], Resource: s.id, Key: key}); e != nil {
		return e
	}
	var err error
	switch req.Op {
	case abi.OpGet:
		ent, ok, gerr := s.engine.Get(ctx, key)
		if err = gerr; err == nil {
			if !ok {
				return abi.NewError(abi.NotFound, fmt.Sprintf("key %s not found", quoteKey(key)))
			}
			resp.Value = ent.Value
		}
	case abi.OpSet:
		if err = s.engine.Set(ctx, key, req.Value, ttl); err == nil {
			resp.OK = true
		}
	case abi.OpHas:
		resp.OK, err = s.engine.Has(ctx, key)
	case abi.OpDelete:
		resp.OK, err = s.engine.Delete(ctx, key)
	case abi.OpEntry:
		ent, ok, gerr := s.engine.Get(ctx, key)
		if err = gerr; err == nil {
			if !ok {
				return abi.NewError(abi.NotFound, fmt.Sprintf("key %s not found", quoteKey(key)))
			}
			resp.Entry = inst.host.entry(ent)
		}
	case abi.OpPut:
		return inst.put(ctx, s, key, req, ttl, resp)
	case abi.OpIncr:
		return inst.incr(ctx, s, key, req.Delta, ttl, resp)
	}
	if err != nil {
		return engineError(err)
	}
	return nil
}

func (inst *instance) put(ctx context.Context, s *Store, key string, req *abi.Request, ttl time.Duration, resp *abi.Response) *abi.Error {
	opts := engine.PutOptions{TTL: ttl, OnlyIfAbsent: req.OnlyIfAbsent}
	if req.IfVersion != nil {
		v, err := strconv.ParseUint(*req.IfVersion, 10, 64)
		if err != nil {
			// No write ever had this version, so it cannot match.
			return errConflict(key)
		}
		opts.IfVersion, opts.HasIfVersion = v, true
	}
	ent, err := s.engine.Put(ctx, key, req.Value, opts)
	switch {
	case errors.Is(err, engine.ErrExists):
		return abi.NewError(abi.AlreadyExists, fmt.Sprintf("key %s already exists", quoteKey(key)))
	case errors.Is(err, engine.ErrConflict):
		return errConflict(key)
	case err != nil:
		return engineError(err)
	}
	resp.Entry = inst.host.entry(ent)
	return nil
}

// errConflict is a failed if_version. It is retryable: the caller re-reads and tries again.
func errConflict(key string) *abi.Error {
	e := abi.NewError(abi.Conflict, fmt.Sprintf("key %s does not have the expected version", quoteKey(key)))
	e.Retryable = true
	return e
}

// errOverflow is an incr whose result is too large for a number: the value stays.
type errOverflow struct{}

func (errOverflow) Error() string { return "overflow" }

// errNotNumber is returned from the incr mutation to leave the value untouched.
type errNotNumber struct{ key string }

func (e errNotNumber) Error() string { return "not a number" }

func (inst *instance) incr(ctx context.Context, s *Store, key string, delta float64, ttl time.Duration, resp *abi.Response) *abi.Error {
	clock := inst.host.opts.clock
	var result float64
	_, err := s.engine.Update(ctx, key, func(cur engine.Entry, exists bool) ([]byte, time.Duration, error) {
		if !exists {
			result = delta
			return abi.EncodeNumber(result), ttl, nil
		}
		n, ok := abi.DecodeNumber(cur.Value)
		if !ok {
			return nil, 0, errNotNumber{key}
		}
		result = n + delta
		if math.IsInf(result, 0) {
			return nil, 0, errOverflow{}
		}
		// An existing key keeps its expiry; opts.ttl only applies to a new key.
		keep := time.Duration(0)
		if !cur.ExpiresAt.IsZero() {
			// At least 1 ms: a key that expires as we write must not become permanent.
			keep = max(cur.ExpiresAt.Sub(clock.Now()), time.Millisecond)
		}
		return abi.EncodeNumber(result), keep, nil
	})
	var nn errNotNumber
	var of errOverflow
	switch {
	case errors.As(err, &nn):
		return abi.NewError(abi.Invalid, fmt.Sprintf("value of key %s is not a number", quoteKey(key)))
	case errors.As(err, &of):
		return abi.NewError(abi.Invalid, fmt.Sprintf("incr of key %s by %v would overflow to infinity", quoteKey(key), delta))
	case err != nil:
		return engineError(err)
	}
	resp.Value = abi.EncodeNumber(result)
	return nil
}

// entry converts an engine entry for the wire, with the ttl remaining now.
func (h *Host) entry(e engine.Entry) *abi.Entry {
	out := &abi.Entry{Key: []byte(e.Key), Value: e.Value, Version: strconv.FormatUint(e.Version, 10)}
	if !e.ExpiresAt.IsZero() {
		ms := max(e.ExpiresAt.Sub(h.opts.clock.Now()).Milliseconds(), 1)
		out.TTL = &ms
	}
	return out
}

// list is store.key.list. The checks run as for key operations: released store,
// arguments, then the permission on the prefix.
func (inst *instance) list(ctx context.Context, req *abi.Request, resp *abi.Response) *abi.Error {
	s, e := inst.store(req.Handle)
	if e != nil {
		return e
	}
	limit := req.Limit
	switch {
	case limit == 0:
		limit = abi.DefaultListLimit
	case limit < 0 || limit > abi.MaxListLimit:
		return abi.NewError(abi.Invalid, fmt.Sprintf("limit %d is out of range (1 to %d)", limit, abi.MaxListLimit))
	}
	if len(req.Prefix) > s.maxKeyBytes || len(req.After) > s.maxKeyBytes {
		return abi.NewError(abi.Invalid, fmt.Sprintf("prefix and cursor must be at most max_key_bytes %d", s.maxKeyBytes))
	}
	prefix := string(req.Prefix)
	if e := inst.authorize(policy.Request{Action: policy.ActionKeyList, Resource: s.id, Prefix: prefix}); e != nil {
		return e
	}
	page, err := s.engine.List(ctx, engine.ListOptions{Prefix: prefix, After: string(req.After), Limit: int(limit)})
	if err != nil {
		return engineError(err)
	}
	out := &abi.Page{Items: make([]abi.Entry, 0, len(page.Items)), Cursor: req.After, More: page.HasMore}
	size := 0
	for i, it := range page.Items {
		if size += len(it.Key) + len(it.Value); size > abi.MaxPageBytes && i > 0 {
			out.More = true // the rest comes on the next page
			break
		}
		out.Items = append(out.Items, *inst.host.entry(it))
		out.Cursor = out.Items[len(out.Items)-1].Key
	}
	resp.Page = out
	return nil
}

// info is store.info.
func (inst *instance) info(req *abi.Request, resp *abi.Response) *abi.Error {
	s, e := inst.store(req.Handle)
	if e != nil {
		return e
	}
	if e := inst.authorize(policy.Request{Action: policy.ActionStoreInfo, Resource: s.id}); e != nil {
		return e
	}
	i := s.engine.Info()
	resp.Info = &abi.Info{ID: s.id, Backend: i.Backend, Consistency: i.Consistency, Durable: i.Durable,
		List: i.List, Versioned: i.Versioned, ConditionalPut: i.ConditionalPut, TTL: i.TTL}
	return nil
}

// store resolves a handle from the guest.
func (inst *instance) store(h uint32) (*Store, *abi.Error) {
	sl, _, ok := inst.slot(h)
	if !ok {
		return nil, abi.NewError(abi.Invalid, fmt.Sprintf("unknown store handle %d", h))
	}
	if sl.gen == uint16(h>>16) && sl.store != nil {
		return sl.store, nil
	}
	return nil, abi.NewError(abi.Invalid, "store is released")
}

// authorize asks the policy set, counts the decision, and logs a denial. The error that
// reaches the guest names the action and resource but not the deciding policy.
func (inst *instance) authorize(r policy.Request) *abi.Error {
	r.Module = inst.module
	d := inst.host.policies.Decide(r)
	if d.Allowed {
		inst.policy.Allowed.Add(1)
		return nil
	}
	inst.policy.Denied.Add(1)
	inst.logDenial(r, d.Policy)
	return abi.NewError(abi.PermissionDenied, fmt.Sprintf("permission denied: %s on %q", r.Action, r.Resource))
}

// quoteKey quotes a key for a message, cut short so a huge key cannot flood a log.
func quoteKey(k string) string {
	const max = 64
	if len(k) > max {
		return fmt.Sprintf("%q...", k[:max])
	}
	return fmt.Sprintf("%q", k)
}
