package host_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
	"github.com/wasmkv/wasmkv/wasmpass"
)

// Hostile modules that are cheap to send and expensive to compile (issue 12): each is
// a few bytes to a few MB, and took wazero from seconds to minutes and gigabytes. They
// are generated, not written in WAT: WAT has no way to say "100,000 times".

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

// oneFunc is a module with one function of type (func), its declared locals (the
// encoded vector) and its body (instructions, with the final end).
func oneFunc(locals, body []byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, []byte{1, 0x60, 0, 0})...) // one type: (func)
	m = append(m, section(3, []byte{1, 0})...)          // one function of type 0
	fn := append(append([]byte{}, locals...), body...)
	code := append([]byte{1}, append(uleb(uint64(len(fn))), fn...)...)
	return append(m, section(10, code)...)
}

func repeat(b []byte, n int) []byte {
	out := make([]byte, 0, len(b)*n)
	for range n {
		out = append(out, b...)
	}
	return out
}

// nestedBlocks is one function of n nested empty blocks.
func nestedBlocks(n int) []byte {
	body := append(repeat([]byte{0x02, 0x40}, n), repeat([]byte{0x0b}, n+1)...)
	return oneFunc([]byte{0}, body)
}

// manyLocals declares n i64 locals in one function, in a 72-byte module when n is 50M.
func manyLocals(n uint64) []byte {
	locals := append(append([]byte{1}, uleb(n)...), 0x7e)
	return oneFunc(locals, []byte{0x0b})
}

// bigBrTable is one br_table of n targets.
func bigBrTable(n int) []byte {
	body := append([]byte{0x41, 0x00, 0x0e}, uleb(uint64(n))...)
	body = append(body, repeat([]byte{0}, n)...)
	return oneFunc([]byte{0}, append(body, 0x00, 0x0b))
}

// hostileCompiles are refused before compiling, each naming the limit it exceeds.
var hostileCompiles = []struct {
	name  string
	wasm  func() []byte
	limit string
}{
	{"100,000 nested blocks", func() []byte { return nestedBlocks(100_000) }, "MaxNestingDepth"},
	{"50 million i64 locals", func() []byte { return manyLocals(50_000_000) }, "MaxLocalsPerFunction"},
	{"a br_table of a million targets", func() []byte { return bigBrTable(1_000_000) }, "MaxBrTableTargets"},
	{"a br_table of 3 million targets", func() []byte { return bigBrTable(3_000_000) }, "MaxFunctionBodyBytes"},
}

// TestHostileCompileRefused: each hostile module is refused by LoadGuest and by New
// (WithGuest), in each preemption mode, with a GuestError that names the limit, before
// wazero compiles it: quickly (the bound is generous; these took 6 s to over 120 s), and
// a Lua run started meanwhile works.
func TestHostileCompileRefused(t *testing.T) {
	cfg, err := host.ParseConfig([]byte(testConfig))
	require.NoError(t, err)
	forEachPreemption(t, func(t *testing.T, mode host.Preemption) {
		h := newHost(t, testConfig, host.WithPreemption(mode))
		for _, tc := range hostileCompiles {
			t.Run(tc.name, func(t *testing.T) {
				wasm := tc.wasm()
				check := func(err error) {
					t.Helper()
					var ge *host.GuestError
					require.ErrorAs(t, err, &ge)
					var le *wasmpass.LimitError
					require.ErrorAs(t, err, &le)
					assert.Equal(t, tc.limit, le.Limit)
					assert.Contains(t, err.Error(), "refused before compiling")
					assert.Contains(t, err.Error(), tc.limit)
				}
				var wg sync.WaitGroup
				var luaOut string
				var luaErr error
				wg.Go(func() { luaOut, luaErr = runLuaAs(t, h, "bystander", `print("unharmed")`) })
				start := time.Now()
				_, err := h.LoadGuest(context.Background(), wasm)
				check(err)
				assert.Less(t, time.Since(start), 10*time.Second, "refusing took %v", time.Since(start))
				wg.Wait()
				require.NoError(t, luaErr)
				assert.Equal(t, "unharmed\n", luaOut)

				h2, err := host.New(context.Background(), cfg, host.WithGuest(wasm), host.WithPreemption(mode))
				if h2 != nil {
					h2.Close(context.Background())
				}
				check(err)
			})
		}
	})
}

// TestHostileCompileJustUnderLimits: the same shapes just under the limits are
// accepted (they are refused for lacking the ABI's exports, after compiling), so the
// limits refuse what exceeds them and nothing less.
func TestHostileCompileJustUnderLimits(t *testing.T) {
	l := host.GuestLimits()
	forEachPreemption(t, func(t *testing.T, mode host.Preemption) {
		h := newHost(t, testConfig, host.WithPreemption(mode))
		for name, wasm := range map[string][]byte{
			"nesting":  nestedBlocks(int(l.MaxNestingDepth) - 1),
			"locals":   manyLocals(l.MaxLocalsPerFunction),
			"br_table": bigBrTable(int(l.MaxBrTableTargets)),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := h.LoadGuest(context.Background(), wasm)
				var ge *host.GuestError
				require.ErrorAs(t, err, &ge)
				assert.Equal(t, `host: guest: does not export function "_initialize"`, err.Error(), fmt.Sprint(len(wasm)))
			})
		}
	})
}
