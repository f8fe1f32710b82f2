package wasmpass

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRewrite: arbitrary bytes never crash the pass; a module the pass checks and
// wazero accepts is accepted by every rewrite (unless it refuses an instrumented
// module, or memory.init in a snapshot), and what the rewrite writes wazero accepts
// too. wazero only sees what Check passed: given a count the pass refuses, wazero
// allocates for it first (2 GiB for a 40-byte module declaring 2^28 results).
func FuzzRewrite(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.wasm")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(tryTable)
	for seed := range uint64(4) { // valid programs, for the fuzzer to mutate
		f.Add((&gen{rnd: rand.New(rand.NewPCG(seed, 2)), n: 3}).module())
	}
	f.Add(oneFunc([]byte{0, 0x03, 0x40, 0x10, 0, 0x0B, 0x0B}))
	f.Add(wasmModule(sec(5, 1, 1, 1, 2), sec(6, 1, 0x7F, 1, 0x41, 0, 0x0B), sec(11, 1, 0, 0x41, 0, 0x0B, 1, 'x')))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Check(b, Limits{})
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatal(err)
		}
		valid := err == nil && compiles(t, b) == nil
		for _, o := range []Options{{Preempt: true}, {Snapshot: true}, {Preempt: true, Snapshot: true}} {
			out, _, err := Rewrite(b, o)
			switch {
			case err != nil && strings.Contains(err.Error(), "internal error"):
				t.Fatalf("%+v: %v", o, err)
			case err != nil && valid && o == Options{Preempt: true} &&
				!strings.Contains(err.Error(), PreemptModule) && !strings.Contains(err.Error(), CountdownExport):
				t.Fatalf("%+v: refused a module wazero accepts: %v", o, err)
			case err == nil && valid:
				if err := compiles(t, out); err != nil {
					t.Fatalf("%+v: the rewritten module does not compile: %v", o, err)
				}
			}
		}
	})
}
