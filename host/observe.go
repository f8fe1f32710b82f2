package host

import (
	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/policy"
)

// Observer receives an event for every store operation and policy decision of the
// host's runs, for metrics by store, operation, module and action. It is called on the
// run's goroutine, so it must be fast and safe for concurrent use.
type Observer interface {
	// StoreOp is a store operation a guest asked for (get, set, ..., list, info) on the
	// store id, with its failure or nil; denied operations are included.
	StoreOp(store string, op abi.Op, err *abi.Error)
	// Decision is a policy decision for module on action.
	Decision(module string, action string, allowed bool)
}

// WithObserver sets the host's Observer (default none).
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

// observe reports a finished store operation to the observer, if any.
func (inst *instance) observe(req *abi.Request, resp *abi.Response) {
	o := inst.host.opts.observer
	if o == nil {
		return
	}
	switch req.Op {
	case abi.OpGet, abi.OpSet, abi.OpHas, abi.OpDelete, abi.OpEntry, abi.OpPut, abi.OpIncr, abi.OpList, abi.OpInfo:
		if s, e := inst.store(req.Handle); e == nil {
			o.StoreOp(s.id, req.Op, resp.Err)
		}
	}
}

func (inst *instance) observeDecision(r *policy.Request, allowed bool) {
	if o := inst.host.opts.observer; o != nil {
		o.Decision(r.Module, r.Action, allowed)
	}
}
