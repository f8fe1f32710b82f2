package wasmpass

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// The features the host may enable; the pass must handle all of them.
const allFeatures = api.CoreFeaturesV2 | experimental.CoreFeaturesTailCall |
	experimental.CoreFeaturesExceptionHandling | experimental.CoreFeaturesThreads |
	experimental.CoreFeaturesExtendedConst

func newRuntime(ctx context.Context) wazero.Runtime {
	return wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(allFeatures))
}

// compiles reports whether wazero accepts the module (decoding and validation).
// wazero v1.12 panics on some invalid modules (a tag whose type index is out of
// range): that counts as not accepted.
func compiles(t testing.TB, wasm []byte) (err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("wazero panicked: %v", e)
		}
	}()
	ctx := context.Background()
	rt := newRuntime(ctx)
	defer rt.Close(ctx)
	_, err = rt.CompileModule(ctx, wasm)
	return err
}

// The real guests: the pass decodes them, instruments them, and wazero accepts the result.
func TestRealGuests(t *testing.T) {
	for _, path := range []string{"../host/guest.wasm", "../examples/plugin-go/plugin.wasm", "../host/testdata/sdkguest/guest.wasm"} {
		t.Run(path, func(t *testing.T) {
			wasm, err := os.ReadFile(path)
			if err != nil {
				t.Skipf("%v (make guest plugins builds it)", err)
			}
			start := time.Now()
			out, rep, err := Rewrite(wasm, Options{Preempt: true, Snapshot: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes, %d functions, %d loops, %d mutable globals, %d data bytes: rewritten in %v, %d bytes",
				len(wasm), rep.Functions, rep.Loops, rep.MutableGlobals, rep.DataBytes, time.Since(start), len(out))
			consts := 0
			for _, d := range rep.ActiveData {
				if d.ConstOffset {
					consts++
				}
			}
			t.Logf("%d active data segments, %d at constant offsets", len(rep.ActiveData), consts)
			t.Logf("largest: nesting %d, locals %d, body %d bytes, br_table %d; memory min %d max %d (%v)", rep.MaxNestingDepth, rep.MaxLocals, rep.MaxFunctionBodyBytes, rep.MaxBrTableTargets, rep.MemoryMin, rep.MemoryMax, rep.HasMemoryMax)
			same, _, err := Rewrite(wasm, Options{})
			if err != nil || !bytes.Equal(same, wasm) {
				t.Fatalf("no transform changed the module (err %v)", err)
			}
			if err := compiles(t, out); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The real guests run instrumented: the Go runtime's initialisation (allocation,
// scheduler, package inits) through the checks, firing every 100 checks.
func TestRealGuestsInitialize(t *testing.T) {
	for _, path := range []string{"../host/guest.wasm", "../examples/plugin-go/plugin.wasm"} {
		wasm, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v: run `make guest plugins`", err)
		}
		out, _, err := Rewrite(wasm, Options{Preempt: true})
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t)
		h.reset = 100
		wasi_snapshot_preview1.MustInstantiate(h.ctx, h.rt)
		// The host ABI, which _initialize does not call: stubs of the imported signatures.
		c, err := h.rt.CompileModule(h.ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		stubs := map[string]wazero.HostModuleBuilder{}
		for _, f := range c.ImportedFunctions() {
			mod, name, _ := f.Import()
			if mod == wasi_snapshot_preview1.ModuleName {
				continue
			}
			if stubs[mod] == nil {
				stubs[mod] = h.rt.NewHostModuleBuilder(mod)
			}
			stubs[mod].NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {
				panic("not called by _initialize")
			}), f.ParamTypes(), f.ResultTypes()).Export(name)
		}
		for _, b := range stubs {
			if _, err := b.Instantiate(h.ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range [][]byte{wasm, out} {
			m := h.instantiate(t, v)
			if g := m.ExportedGlobal(CountdownExport); g != nil {
				g.(api.MutableGlobal).Set(100)
			}
			if _, err := m.ExportedFunction("_initialize").Call(h.ctx); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		if h.checks < 10 {
			t.Fatalf("%s: %d checks fired", path, h.checks)
		}
		t.Logf("%s: %d checks fired during _initialize", path, h.checks)
	}
}
