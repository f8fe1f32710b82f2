package host_test

import (
	"testing"

	"github.com/wasmkv/wasmkv/host"
)

// TestGCKeepsUpWithGarbage: a script whose live data is tiny but which allocates many
// times its memory limit runs to the end, three times on the same pooled instance. In
// the gopher-lua guest, Go's collector stalled for good once its CPU limiter switched on
// (see docs/decisions.md, "Go's collector in the guest needs a real clock"), and the
// heap then grew to the limit.
func TestGCKeepsUpWithGarbage(t *testing.T) { eachGuest(t, testGCKeepsUpWithGarbage) }

func testGCKeepsUpWithGarbage(t *testing.T, guest string) {
	h := newHost(t, testConfig+"modules:\n  test: {pool_size: 1, memory_limit: 32MiB}\n", host.WithDefaultGuest(guest))
	// About 500 MiB of strings per run (a 4 KiB string and its concatenation each
	// iteration), 15 times the limit, with under 1 MiB live at any time.
	const src = `
local n = 0
for i = 1, 60000 do
  local s = string.rep("x", 4096) .. i
  n = n + #s
end
print(n > 60000 * 4096)
`
	for range 3 {
		mustRun(t, h, src, "true")
	}
}
