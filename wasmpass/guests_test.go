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
