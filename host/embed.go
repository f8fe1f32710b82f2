package host

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Embedding is wasmkv's host module registered in a wazero runtime that the caller owns.
// Close it to remove the module (the caller's own modules must be closed first).
type Embedding struct {
	h      *Host
	mod    api.Module
	unwind api.Module // wasmkv_lua_v1, for C guests without setjmp (host/unwind.go)

	ownsHost bool

	mu     sync.Mutex
	states map[api.Module]*instance
}

// Instantiate registers the host functions of abi.ModuleName (and the unwinding functions
// a C guest without setjmp may import, docs/abi.md) in the caller's runtime r,
// backed by this host's stores and policies, the way wasi_snapshot_preview1.Instantiate
// adds WASI. Modules that r instantiates afterwards may import them; a module's name
// (wazero.ModuleConfig.WithName) is its identity, the policy actor. Modules that import
// nothing of ours are unaffected.
//
// The caller owns r, and so its limits: for untrusted modules, build it with
// WithCloseOnContextDone(true) and a memory limit, and call with a deadline.
func (h *Host) Instantiate(ctx context.Context, r wazero.Runtime) (*Embedding, error) {
	e := &Embedding{h: h, states: map[api.Module]*instance{}}
	mod, err := instantiateHostModule(ctx, r, e.resolve)
	if err != nil {
		return nil, err
	}
	if e.unwind, err = newUnwindModule(ctx, r); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	e.mod = mod
	return e, nil
}

// Instantiate builds the stores and policies of cfg without the Lua guest and registers
// them in the caller's runtime r: the way to add wasmkv's store to an application that
// runs its own modules. See Host.Instantiate.
func Instantiate(ctx context.Context, r wazero.Runtime, cfg *Config, opts ...Option) (*Embedding, error) {
	h, err := newHost(cfg, opts)
	if err != nil {
		return nil, err
	}
	e, err := h.Instantiate(ctx, r)
	if err != nil {
		h.Close(ctx)
		return nil, err
	}
	e.ownsHost = true
	return e, nil
}

// resolve finds, or makes, the state of the calling module. A store handle belongs to the
// module instance that opened it.
func (e *Embedding) resolve(ctx context.Context, mod api.Module) (*instance, bool) {
	if inst, ok := instanceFrom(ctx); ok {
		return inst, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if inst, ok := e.states[mod]; ok {
		return inst, true
	}
	// Forget the modules the caller has closed since, so state does not pile up.
	for m := range e.states {
		if m.IsClosed() {
			delete(e.states, m)
		}
	}
	name := mod.Name()
	inst := &instance{host: e.h, module: name, policy: e.h.countersFor(name), log: e.h.log}
	e.states[mod] = inst
	return inst, true
}

// Host returns the host whose stores and policies back the module: its Store and
// Decisions read what the caller's modules did.
func (e *Embedding) Host() *Host { return e.h }

// Close removes the host module from the runtime, and closes the stores if Instantiate
// (the function) built them.
func (e *Embedding) Close(ctx context.Context) error {
	err := e.mod.Close(ctx)
	if uerr := e.unwind.Close(ctx); err == nil {
		err = uerr
	}
	if e.ownsHost {
		if cerr := e.h.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}
