package host_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/host"
)

// prelude gives test scripts show(...), which prints each value on one line in a form
// that tells apart nil, booleans, numbers, strings and error objects (with kind,
// retryable flag and message).
const prelude = `
local function fmt(v)
  if type(v) == "userdata" then
    local ok, k = pcall(function() return v:kind() end)
    if ok then return "err(" .. k .. "," .. tostring(v:retryable()) .. "," .. v:message() .. ")" end
    return tostring(v)
  elseif type(v) == "string" then return string.format("%q", v)
  end
  return tostring(v)
end
function show(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[#parts + 1] = fmt((select(i, ...))) end
  print(table.concat(parts, " "))
end
`

// testConfig is the default store plus a small one for full-store tests.
const testConfig = `
stores:
  app:cache:
    kind: memory
  app:small:
    kind: memory
    max_size: 2
    max_key_bytes: 8
    max_value_bytes: 64
  app:lru:
    kind: memory
    max_size: 2
    eviction: lru
policies:
  - name: tests
    effect: allow
    resources: ["app:*", "nope"]
`

func newHost(t testing.TB, cfgYAML string, opts ...host.Option) *host.Host {
	t.Helper()
	cfg, err := host.ParseConfig([]byte(cfgYAML))
	require.NoError(t, err)
	h, err := host.New(context.Background(), cfg, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func newClockHost(t testing.TB, opts ...host.Option) (*host.Host, *engine.ManualClock) {
	clock := engine.NewManualClock(time.Unix(1_700_000_000, 0))
	return newHost(t, testConfig, append(opts, host.WithClock(clock))...), clock
}

// guests are the built-in Lua guests that every Lua test runs against.
var guests = []string{host.GuestGopherLua, host.GuestPucLua}

// eachGuest runs test once per Lua guest, as a subtest named after the guest; the test
// builds its hosts with host.WithDefaultGuest(guest).
func eachGuest(t *testing.T, test func(t *testing.T, guest string)) {
	for _, g := range guests {
		t.Run(g, func(t *testing.T) { test(t, g) })
	}
}

// eachGuestAndPreemption runs test once per Lua guest and preemption mode.
func eachGuestAndPreemption(t *testing.T, test func(t *testing.T, guest string, mode host.Preemption)) {
	eachGuest(t, func(t *testing.T, guest string) {
		forEachPreemption(t, func(t *testing.T, mode host.Preemption) { test(t, guest, mode) })
	})
}

// byGuest picks the expectation of the guest under test, where the two guests differ
// (docs/decisions.md lists every difference).
func byGuest[T any](guest string, gopherLua, pucLua T) T {
	if guest == host.GuestPucLua {
		return pucLua
	}
	return gopherLua
}

// runLua runs src (after the prelude) as module "test" and returns its stdout.
func runLua(t testing.TB, h *host.Host, src string, args ...string) (string, error) {
	t.Helper()
	return runLuaAs(t, h, "test", src, args...)
}

func runLuaAs(t testing.TB, h *host.Host, module, src string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := h.Run(context.Background(), host.Script{
		Module: module, Name: "test.lua", Source: []byte(prelude + src), Args: args,
		Stdout: &out, Timeout: 30 * time.Second,
	})
	return out.String(), err
}

// mustRun runs src and asserts that it succeeded and printed want (lines joined by \n).
func mustRun(t *testing.T, h *host.Host, src string, want ...string) {
	t.Helper()
	out, err := runLua(t, h, src)
	require.NoError(t, err, "output so far:\n%s", out)
	wantOut := ""
	if len(want) > 0 {
		wantOut = strings.Join(want, "\n") + "\n"
	}
	require.Equal(t, wantOut, out)
}

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", name))
	require.NoError(t, err)
	return b
}

// safeBuffer is a bytes.Buffer that a guest and a test may touch from two goroutines.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
