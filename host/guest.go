package host

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/wasmpass"
)

// guestWasm is the Lua guest, built by `make guest` from ./guest.
//
//go:embed guest.wasm
var guestWasm []byte

// hostFuncs are the functions of abi.ModuleName with their wasm signatures.
var hostFuncs = map[string]struct{ params, results []api.ValueType }{
	abi.FuncCall: {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
	abi.FuncTake: {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
}

// GuestError is a guest module that this host cannot run.
type GuestError struct {
	Msg string
	// Err is the cause when there is one: a *wasmpass.LimitError for a module over a
	// structural limit, a *wasmpass.Error for one the pass cannot decode.
	Err error
}

// Error returns the message, prefixed "host: guest: ".
func (e *GuestError) Error() string { return "host: guest: " + e.Msg }

// Unwrap returns the cause.
func (e *GuestError) Unwrap() error { return e.Err }

// checkGuest refuses, before any instance exists, a guest built for another ABI
// version, one that imports a function we lack or with another signature, and one
// without the exports the host calls. The countdown's import is allowed only in a guest
// the pass instrumented (preempt): the pass refuses a module that imports it already.
func checkGuest(m wazero.CompiledModule, preempt bool) error {
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		if !strings.HasPrefix(mod, "wasmkv") {
			continue
		}
		if mod == unwindModule {
			if err := checkUnwindImport(m, f); err != nil {
				return err
			}
			continue
		}
		if mod == wasmpass.PreemptModule {
			if !preempt {
				return &GuestError{Msg: fmt.Sprintf("imports %s.%s, which only the host's own instrumentation may import", mod, name)}
			}
			if name != wasmpass.PreemptFunc || len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
				return &GuestError{Msg: fmt.Sprintf("imports %s.%s %s, which the host does not provide", mod, name, signature(f.ParamTypes(), f.ResultTypes()))}
			}
			continue
		}
		if mod != abi.ModuleName {
			return &GuestError{Msg: fmt.Sprintf("imports %s.%s, but this host provides ABI module %q (version %d)", mod, name, abi.ModuleName, abi.Version)}
		}
		want, ok := hostFuncs[name]
		if !ok {
			return &GuestError{Msg: fmt.Sprintf("imports unknown function %s.%s", mod, name)}
		}
		if !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results) {
			return &GuestError{Msg: fmt.Sprintf("imports %s.%s with signature %s, want %s", mod, name,
				signature(f.ParamTypes(), f.ResultTypes()), signature(want.params, want.results))}
		}
	}
	// Only functions can be imported from us; wazero cannot list imported globals and
	// tables, which fail at instantiation instead.
	for _, mem := range m.ImportedMemories() {
		if mod, name, _ := mem.Import(); strings.HasPrefix(mod, "wasmkv") {
			return &GuestError{Msg: fmt.Sprintf("imports %s.%s, which is not a function of %s", mod, name, abi.ModuleName)}
		}
	}
	exports := m.ExportedFunctions()
	for _, name := range []string{abi.ExportInitialize, abi.ExportRun} {
		f, ok := exports[name]
		if !ok {
			return &GuestError{Msg: fmt.Sprintf("does not export function %q", name)}
		}
		if len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
			return &GuestError{Msg: fmt.Sprintf("exports %q with signature %s, want (func)", name, signature(f.ParamTypes(), f.ResultTypes()))}
		}
	}
	return nil
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, " ")
	}
	return fmt.Sprintf("(func (param %s) (result %s))", names(params), names(results))
}
