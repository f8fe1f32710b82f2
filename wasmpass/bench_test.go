package wasmpass

import (
	"context"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// BenchmarkChecks runs loops compiled by wazero's compiler without checks and with
// the countdown checks: compare the two ns/op of each loop.
func BenchmarkChecks(b *testing.B) {
	src := load(b, "bench")
	out, _, err := Rewrite(src, Options{Preempt: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(false))
	defer rt.Close(ctx)
	_, err = rt.NewHostModuleBuilder(PreemptModule).NewFunctionBuilder().
		WithFunc(func(ctx context.Context, m api.Module) {
			m.ExportedGlobal(CountdownExport).(api.MutableGlobal).Set(CountdownStart)
		}).Export(PreemptFunc).Instantiate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, fn := range []string{"arith", "calls", "memory"} {
		for _, v := range []struct {
			name string
			wasm []byte
		}{{"plain", src}, {"checks", out}} {
			m, err := rt.InstantiateWithConfig(ctx, v.wasm, wazero.NewModuleConfig().WithName(fn+v.name))
			if err != nil {
				b.Fatal(err)
			}
			f := m.ExportedFunction(fn)
			b.Run(fn+"/"+v.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := f.Call(ctx, 1_000_000); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRewrite: the pass on the gopher-lua guest (`make guest`).
func BenchmarkRewrite(b *testing.B) {
	wasm, err := os.ReadFile("../host/guest.wasm")
	if err != nil {
		b.Fatalf("%v: run `make guest`", err)
	}
	b.SetBytes(int64(len(wasm)))
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if _, err := Check(wasm, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("preempt", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := Rewrite(wasm, Options{Preempt: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
