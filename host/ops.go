package host

import (
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
	}
	out, err := abi.EncMode.Marshal(&resp)
	if err != nil {
		// Only a value we failed to check could get here; fail the run rather than lie.
		panic(fmt.Sprintf("encoding response: %v", err))
	}
	return out
}

func (inst *instance) dispatch(ctx context.Context, req *abi.Request, resp *abi.Response) {
	switch req.Op {
	case abi.OpTask:
		resp.Task = inst.task
	case abi.OpFinish:
		inst.finished, inst.result = true, req.Err
	case abi.OpOpen:
		resp.Handle, resp.Err = inst.open(req.ID)
	case abi.OpRelease:
		if req.Handle >= 1 && int(req.Handle) <= len(inst.handles) {
			inst.handles[req.Handle-1] = nil
		}
		resp.OK = true
	case abi.OpGet, abi.OpSet, abi.OpHas, abi.OpDelete:
		resp.Err = inst.keyOp(ctx, req, resp)
	default:
		resp.Err = abi.NewError(abi.Invalid, fmt.Sprintf("unknown operation %d", req.Op))
	}
}

// open is store.get(id). The permission check comes before the existence check, so a
// module cannot probe which store ids exist.
func (inst *instance) open(id string) (uint32, *abi.Error) {
	if id == "" {
		return 0, abi.NewError(abi.Invalid, "store id is empty")
	}
	if e := inst.authorize(policy.Request{Action: policy.ActionStoreGet, Resource: id}); e != nil {
		return 0, e
	}
	s, ok := inst.host.stores[id]
	if !ok {
		return 0, abi.NewError(abi.NotFound, fmt.Sprintf("store %q not found", id))
	}
	inst.handles = append(inst.handles, s)
	return uint32(len(inst.handles)), nil
}

// opActions maps each key operation to the action a policy decides.
var opActions = map[abi.Op]string{
	abi.OpGet:    policy.ActionKeyGet,
	abi.OpSet:    policy.ActionKeySet,
	abi.OpHas:    policy.ActionKeyHas,
	abi.OpDelete: policy.ActionKeyDelete,
}

// keyOp runs a key operation. The checks run in the order of the spec decisions:
// released store, key, the operation's other arguments, permission, then the engine.
func (inst *instance) keyOp(ctx context.Context, req *abi.Request, resp *abi.Response) *abi.Error {
	s, e := inst.store(req.Handle)
	if e != nil {
		return e
	}
	if e := s.checkKey(req.Key); e != nil {
		return e
	}
	ttl := time.Duration(req.TTL) * time.Millisecond
	if req.Op == abi.OpSet {
		if req.TTL < 0 || req.TTL > int64(maxTTL/time.Millisecond) {
			return checkTTL(-1)
		}
		if e := s.checkValue(req.Value); e != nil {
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
	}
	if err != nil {
		return engineError(err)
	}
	return nil
}

// store resolves a handle from the guest.
func (inst *instance) store(h uint32) (*Store, *abi.Error) {
	if h == 0 || int(h) > len(inst.handles) {
		return nil, abi.NewError(abi.Invalid, fmt.Sprintf("unknown store handle %d", h))
	}
	if s := inst.handles[h-1]; s != nil {
		return s, nil
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
	inst.log.Info("permission denied", "module", r.Module, "action", r.Action,
		"resource", r.Resource, "key", r.Key, "prefix", r.Prefix, "policy", d.Policy)
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
