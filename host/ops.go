package host

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/wasmkv/wasmkv/abi"
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
		inst.observe(&req, &resp)
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
		inst.output = nil
		if len(req.Value) > 0 && inst.task.Result {
			if e := abi.CheckValue(req.Value, 0); e != nil {
				inst.fail(abi.NewError(abi.Internal, "guest reported a malformed result: "+e.Message))
				break
			}
			// The request may alias the guest's memory, which the next run reuses.
			inst.output = bytes.Clone(req.Value)
		}
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
		if req.Op == abi.OpPut {
			if e := checkPut(req.OnlyIfAbsent, req.IfVersion); e != nil {
				return e
			}
		}
	case abi.OpIncr:
		if e := checkDelta(req.Delta); e != nil {
			return e
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
			resp.Entry = s.wireEntry(ent)
		}
	case abi.OpPut:
		ent, e := s.put(ctx, key, req.Value, ttl, req.OnlyIfAbsent, req.IfVersion)
		if e != nil {
			return e
		}
		resp.Entry = s.wireEntry(ent)
	case abi.OpIncr:
		n, e := s.incr(ctx, key, req.Delta, ttl)
		if e != nil {
			return e
		}
		resp.Value = abi.EncodeNumber(n)
	}
	if err != nil {
		return engineError(err)
	}
	return nil
}

// list is store.key.list. The checks run as for key operations: released store,
// arguments, then the permission on the prefix.
func (inst *instance) list(ctx context.Context, req *abi.Request, resp *abi.Response) *abi.Error {
	s, e := inst.store(req.Handle)
	if e != nil {
		return e
	}
	limit, e := s.checkList(req.Prefix, req.After, req.Limit)
	if e != nil {
		return e
	}
	prefix := string(req.Prefix)
	if e := inst.authorize(policy.Request{Action: policy.ActionKeyList, Resource: s.id, Prefix: prefix}); e != nil {
		return e
	}
	items, more, e := s.list(ctx, prefix, string(req.After), limit)
	if e != nil {
		return e
	}
	out := &abi.Page{Items: make([]abi.Entry, len(items)), Cursor: req.After, More: more}
	for i, it := range items {
		out.Items[i] = *s.wireEntry(it)
	}
	if len(items) > 0 {
		out.Cursor = out.Items[len(items)-1].Key
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
	i := s.Info()
	resp.Info = &i
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
	inst.observeDecision(&r, d.Allowed)
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
