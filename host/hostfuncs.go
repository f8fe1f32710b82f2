package host

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmkv/wasmkv/abi"
)

// resolver finds the per-instance state of the module calling a host function: from the
// run's context in our runtimes, from the calling module in an embedder's runtime.
type resolver func(ctx context.Context, mod api.Module) (*instance, bool)

// runResolver is the resolver of our own runtimes, where every call comes from a run.
// A call made past the run's deadline ends the run (see stopIfPast).
func runResolver(ctx context.Context, mod api.Module) (*instance, bool) {
	stopIfPast(ctx, mod)
	return instanceFrom(ctx)
}

// instantiateHostModule registers the functions of abi.ModuleName in r.
func instantiateHostModule(ctx context.Context, r wazero.Runtime, resolve resolver) (api.Module, error) {
	b := r.NewHostModuleBuilder(abi.ModuleName)
	funcs := map[string]api.GoModuleFunc{
		abi.FuncCall: func(ctx context.Context, mod api.Module, stack []uint64) { hostCall(ctx, mod, stack, resolve) },
		abi.FuncTake: func(ctx context.Context, mod api.Module, stack []uint64) { hostTake(ctx, mod, stack, resolve) },
	}
	for name, fn := range funcs {
		sig := hostFuncs[name]
		b.NewFunctionBuilder().WithGoModuleFunction(fn, sig.params, sig.results).Export(name)
	}
	m, err := b.Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("host: instantiating %s: %w", abi.ModuleName, err)
	}
	return m, nil
}

// region is a (ptr, len) pair from the guest, widened to uint64 so that ptr+len cannot
// overflow.
type region struct{ ptr, len uint64 }

func (r region) inside(memSize uint64) bool { return r.ptr <= memSize && r.len <= memSize-r.ptr }

func (r region) overlaps(o region) bool {
	return r.len > 0 && o.len > 0 && r.ptr < o.ptr+o.len && o.ptr < r.ptr+r.len
}

// hostCall is abi.FuncCall. Every failure is a status or an error response; it never
// panics into the guest, and a panic of ours fails the run with Internal.
func hostCall(ctx context.Context, mod api.Module, stack []uint64, resolve resolver) {
	inst, ok := resolve(ctx, mod)
	if !ok {
		// Called outside a run, e.g. from _initialize: there is no one to answer.
		stack[0] = api.EncodeI64(int64(abi.StatusInternal))
		return
	}
	req := region{uint64(api.DecodeU32(stack[0])), uint64(api.DecodeU32(stack[1]))}
	resp := region{uint64(api.DecodeU32(stack[2])), uint64(api.DecodeU32(stack[3]))}
	stack[0] = uint64(inst.guard(func() int64 {
		// A new call replaces whatever an earlier one left pending, whatever its fate.
		inst.pending = nil
		mem := mod.Memory()
		size := uint64(mem.Size())
		switch {
		case req.len > abi.MaxRequestBytes:
			return int64(abi.StatusTooLarge)
		case !req.inside(size) || !resp.inside(size):
			return int64(abi.StatusBadPointer)
		case req.overlaps(resp):
			return int64(abi.StatusOverlap)
		}
		view, _ := mem.Read(uint32(req.ptr), uint32(req.len))
		// Copy before decoding: the view aliases guest memory, which a later call may grow.
		out := inst.handle(ctx, append([]byte(nil), view...))
		return inst.deliver(mem, resp, out)
	}))
}

// hostTake is abi.FuncTake.
func hostTake(ctx context.Context, mod api.Module, stack []uint64, resolve resolver) {
	inst, ok := resolve(ctx, mod)
	if !ok {
		stack[0] = api.EncodeI64(int64(abi.StatusInternal))
		return
	}
	resp := region{uint64(api.DecodeU32(stack[0])), uint64(api.DecodeU32(stack[1]))}
	stack[0] = uint64(inst.guard(func() int64 {
		mem := mod.Memory()
		if !resp.inside(uint64(mem.Size())) {
			return int64(abi.StatusBadPointer)
		}
		if inst.pending == nil {
			return int64(abi.StatusNoPending)
		}
		out := inst.pending
		inst.pending = nil
		return inst.deliver(mem, resp, out)
	}))
}

// deliver writes out into the response buffer if it fits, and otherwise keeps it
// pending and returns its length, so the guest can fetch it with a bigger buffer.
func (inst *instance) deliver(mem api.Memory, resp region, out []byte) int64 {
	if uint64(len(out)) > resp.len {
		inst.pending = out
		return int64(len(out))
	}
	if !mem.Write(uint32(resp.ptr), out) {
		return int64(abi.StatusBadPointer)
	}
	return int64(len(out))
}

// guard runs a host function body, turning a panic into StatusInternal and a failed run.
func (inst *instance) guard(body func() int64) (n int64) {
	defer func() {
		if r := recover(); r != nil {
			inst.fail(abi.NewError(abi.Internal, fmt.Sprintf("host function panicked: %v", r)))
			n = int64(abi.StatusInternal)
		}
	}()
	return body()
}
