package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Host-assisted unwinding for guests without setjmp, the PUC Lua guest's protected calls
// (guest/puclua/unwind.c). wasm32-wasi's libc has no setjmp/longjmp, and wazero's
// exception handling exits to Go on every try and slows down as errors accumulate, so
// the guest asks the host instead:
//
//   - try(L, f, ud) runs f(L, ud) through a nested call of the guest's export
//     wasmkv_lua_protected and returns 0, or 1 when the guest threw;
//   - throw() panics; wazero unwinds the nested call to the innermost try, which restores
//     the guest's exported __stack_pointer (the abandoned frames' C stack) and returns 1.
//
// Every pcall costs one host call and one nested call, and nothing grows with the number
// of errors caught.
const (
	unwindModule     = "wasmkv_lua_v1"
	unwindProtected  = "wasmkv_lua_protected"
	unwindStackPtr   = "__stack_pointer"
	unwindFuncTry    = "try"
	unwindFuncThrow  = "throw"
	maxUnwindNesting = 1000 // Lua 5.1 stops C nesting at 200 (LUAI_MAXCCALLS)
)

var i32 = api.ValueTypeI32

var unwindFuncs = map[string]struct{ params, results []api.ValueType }{
	unwindFuncTry:   {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	unwindFuncThrow: {nil, nil},
}

// errThrow is the panic of throw; only try recovers it (through wazero, which returns it
// wrapped from the nested call).
var errThrow = errors.New("guest threw outside a protected call")

// unwinder is one guest instance's state: the nested calls in progress, one function
// handle per nesting depth (wazero's calls on one handle must not nest), and the stack
// pointer global.
type unwinder struct {
	sp     api.MutableGlobal
	fns    []api.Function
	params [][]uint64
	depth  int
}

// unwinders maps a guest instance to its unwinder. Instances of one runtime may run
// concurrently; each is single-threaded.
type unwinders struct {
	mu sync.Mutex
	m  map[api.Module]*unwinder
}

func (u *unwinders) get(mod api.Module) (*unwinder, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if w, ok := u.m[mod]; ok {
		return w, nil
	}
	sp, ok := mod.ExportedGlobal(unwindStackPtr).(api.MutableGlobal)
	if !ok {
		return nil, fmt.Errorf("host: guest imports %s but does not export a mutable %s", unwindModule, unwindStackPtr)
	}
	// Forget closed instances, so the map holds only live ones.
	for m := range u.m {
		if m.IsClosed() {
			delete(u.m, m)
		}
	}
	w := &unwinder{sp: sp}
	u.m[mod] = w
	return w, nil
}

// instantiateUnwindModule registers the functions of unwindModule in r.
func instantiateUnwindModule(ctx context.Context, r wazero.Runtime) error {
	_, err := newUnwindModule(ctx, r)
	return err
}

// newUnwindModule is instantiateUnwindModule, returning the module for its owner to close.
func newUnwindModule(ctx context.Context, r wazero.Runtime) (api.Module, error) {
	state := &unwinders{m: map[api.Module]*unwinder{}}
	try := func(ctx context.Context, mod api.Module, stack []uint64) {
		w, err := state.get(mod)
		if err != nil {
			panic(err)
		}
		if w.depth == maxUnwindNesting {
			panic(fmt.Errorf("host: guest nested more than %d protected calls", maxUnwindNesting))
		}
		if w.depth == len(w.fns) {
			fn := mod.ExportedFunction(unwindProtected)
			if fn == nil {
				panic(fmt.Errorf("host: guest imports %s but does not export %s", unwindModule, unwindProtected))
			}
			w.fns = append(w.fns, fn)
			w.params = append(w.params, make([]uint64, 3))
		}
		fn, params := w.fns[w.depth], w.params[w.depth]
		copy(params, stack[:3])
		sp := w.sp.Get()
		w.depth++
		// The run's own ctx: the countdown's checks inside the nested call read its
		// deadline there.
		err = fn.CallWithStack(ctx, params)
		w.depth--
		switch {
		case err == nil:
			stack[0] = 0
		case errors.Is(err, errThrow):
			w.sp.Set(sp)
			stack[0] = 1
		default:
			// A trap, a timeout or a closed instance: the whole run ends with it.
			panic(err)
		}
	}
	throw := func(context.Context, api.Module, []uint64) { panic(errThrow) }
	b := r.NewHostModuleBuilder(unwindModule)
	for name, fn := range map[string]api.GoModuleFunc{unwindFuncTry: try, unwindFuncThrow: throw} {
		sig := unwindFuncs[name]
		b.NewFunctionBuilder().WithGoModuleFunction(fn, sig.params, sig.results).Export(name)
	}
	m, err := b.Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("host: instantiating %s: %w", unwindModule, err)
	}
	return m, nil
}

// checkUnwindImport checks a guest's import from unwindModule, and that the guest
// exports what try calls.
func checkUnwindImport(m wazero.CompiledModule, f api.FunctionDefinition) error {
	mod, name, _ := f.Import()
	want, ok := unwindFuncs[name]
	if !ok {
		return &GuestError{Msg: fmt.Sprintf("imports unknown function %s.%s", mod, name)}
	}
	if !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results) {
		return &GuestError{Msg: fmt.Sprintf("imports %s.%s with signature %s, want %s", mod, name,
			signature(f.ParamTypes(), f.ResultTypes()), signature(want.params, want.results))}
	}
	p, ok := m.ExportedFunctions()[unwindProtected]
	if !ok || !slices.Equal(p.ParamTypes(), []api.ValueType{i32, i32, i32}) || len(p.ResultTypes()) != 0 {
		return &GuestError{Msg: fmt.Sprintf("imports %s.%s but does not export function %q (func (param i32 i32 i32))", mod, name, unwindProtected)}
	}
	return nil
}
