package host_test

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

func runErr(t *testing.T, err error) *host.RunError {
	t.Helper()
	var re *host.RunError
	require.ErrorAs(t, err, &re)
	return re
}

// TestTimeout: a stuck guest is stopped by the host at its deadline, whether it spins in
// Lua or keeps calling the store, in each guest and preemption mode.
func TestTimeout(t *testing.T) { eachGuestAndPreemption(t, testTimeout) }

func testTimeout(t *testing.T, guest string, mode host.Preemption) {
	h, _ := newClockHost(t, host.WithPreemption(mode), host.WithDefaultGuest(guest))
	for _, tc := range []struct{ name, src string }{
		{"busy loop", `while true do end`},
		{"store loop", `local c = require("store").get("app:cache") while true do c:set("k", 1) c:get("k") end`},
		{"pcall loop", `while true do pcall(error, "x") end`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 200 * time.Millisecond
			start := time.Now()
			err := h.Run(context.Background(), host.Script{Module: "test", Name: "loop.lua", Source: []byte(tc.src), Timeout: timeout})
			elapsed := time.Since(start)
			re := runErr(t, err)
			assert.Equal(t, abi.Timeout, re.Kind)
			assert.True(t, re.Retryable)
			assert.Contains(t, re.Message, "timeout of 200ms")
			assert.Less(t, elapsed, timeout+stopBound, "stopped after %v", elapsed)
		})
	}
}

// stopBound tells a run the host stopped from one it failed to stop: a stopped run ends
// long before it, on any machine and under -race (creating the instance, which the
// timeout does not charge, included), and a hung one never does. How promptly runs stop
// is measured (docs/security.md), not asserted: that depends on the machine.
const stopBound = 30 * time.Second

// instantiateAllowance covers creating an instance, which the timeout does not charge;
// under -race it is slower than in production. (The preemption tests' bound.)
const instantiateAllowance = 2 * time.Second

func TestCancel(t *testing.T) { eachGuestAndPreemption(t, testCancel) }

func testCancel(t *testing.T, guest string, mode host.Preemption) {
	h, _ := newClockHost(t, host.WithPreemption(mode), host.WithDefaultGuest(guest))
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the script is running, whenever that is on this machine.
	started := &signalWriter{ch: make(chan struct{})}
	go func() { <-started.ch; cancel() }()
	err := h.Run(ctx, host.Script{Module: "test", Name: "loop.lua", Source: []byte(`print("started") while true do end`),
		Stdout: started, Timeout: time.Minute})
	re := runErr(t, err)
	assert.Equal(t, abi.Canceled, re.Kind)

	// Cancelled before the run could start: the same kind.
	err = h.Run(ctx, host.Script{Module: "cold", Name: "x.lua", Source: []byte(`x = 1`)})
	re = runErr(t, err)
	assert.Equal(t, abi.Canceled, re.Kind)

	// Cancelled while its sandbox (a memory limit not used yet) would have to compile.
	err = h.Run(ctx, host.Script{Module: "cold", Name: "x.lua", Source: []byte(`x = 1`), MemoryLimit: 48 << 20})
	re = runErr(t, err)
	assert.Equal(t, abi.Canceled, re.Kind)
	assert.Contains(t, re.Message, "before it started")
}

// TestMemoryLimit: the guest hits its memory limit with a clear error; the host's heap
// does not grow with what the guest asked for.
func TestMemoryLimit(t *testing.T) { eachGuest(t, testMemoryLimit) }

func testMemoryLimit(t *testing.T, guest string) {
	h := newHost(t, testConfig+"modules:\n  bomb: {memory_limit: 32MiB}\n", host.WithDefaultGuest(guest))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, tc := range []struct{ name, src, want string }{
		{"string.rep", `local s = string.rep("x", 2^30) print(#s)`, "memory limit exceeded (32MiB)"},
		{"growing table", `local t = {} local i = 0 while true do i = i + 1 t[i] = {i, string.rep("x", 1000) .. i} end`, "memory limit exceeded (32MiB)"},
		{"growing string", `local s = "x" while true do s = s .. s end`, "memory limit exceeded (32MiB)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr safeBuffer
			err := h.Run(context.Background(), host.Script{Module: "bomb", Name: "bomb.lua", Source: []byte(tc.src), Stderr: &stderr, Timeout: time.Minute})
			re := runErr(t, err)
			assert.Equal(t, abi.Internal, re.Kind)
			assert.Equal(t, tc.want, re.Message)
		})
	}
	t.Run("deep recursion is a Lua error", func(t *testing.T) {
		err := h.Run(context.Background(), host.Script{Module: "bomb", Name: "rec.lua", Source: []byte(`local function f(n) return 1 + f(n + 1) end return f(1)`), Timeout: time.Minute})
		re := runErr(t, err)
		assert.Contains(t, re.Message, "stack overflow")
	})
	t.Run("a fresh run after the bombs works", func(t *testing.T) {
		out, err := runLuaAs(t, h, "bomb", `print(#string.rep("x", 1000))`)
		require.NoError(t, err)
		assert.Equal(t, "1000\n", out)
	})
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapInuse) - int64(before.HeapInuse)
	assert.Less(t, growth, int64(32<<20), "host heap grew by %d bytes", growth)
}

func TestOutputLimit(t *testing.T) { eachGuest(t, testOutputLimit) }

func testOutputLimit(t *testing.T, guest string) {
	h := newHost(t, testConfig+"modules:\n  chatty: {output_limit: 1KiB}\n", host.WithDefaultGuest(guest))
	var out safeBuffer
	err := h.Run(context.Background(), host.Script{Module: "chatty", Name: "c.lua", Stdout: &out, Timeout: time.Minute,
		Source: []byte(`for i = 1, 20000 do print(string.rep("y", 99)) end print("done")`)})
	require.NoError(t, err)
	got := out.String()
	assert.Equal(t, strings.Repeat(strings.Repeat("y", 99)+"\n", 10)+strings.Repeat("y", 24)+"\n[wasmkv: output truncated at 1024 bytes]\n", got)

	// The default is 1 MiB.
	out = safeBuffer{}
	err = h.Run(context.Background(), host.Script{Module: "test", Name: "c.lua", Stdout: &out, Timeout: time.Minute,
		Source: []byte(`local s = string.rep("z", 1023) for i = 1, 2048 do print(s) end`)})
	require.NoError(t, err)
	assert.Equal(t, 1<<20+len("\n[wasmkv: output truncated at 1048576 bytes]\n"), len(out.String()))
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]host.ByteSize{"1048576": 1 << 20, "128MiB": 128 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "2MB": 2000000, "7B": 7} {
		got, err := host.ParseByteSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1", "12XB", "1.5MiB", "MiB"} {
		_, err := host.ParseByteSize(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "128MiB", host.ByteSize(128<<20).String())
	_, err := host.ParseConfig([]byte("modules:\n  m: {memory_limit: 1MiB}\n"))
	assert.ErrorContains(t, err, "memory_limit 1MiB is out of range: 16MiB to 4GiB")
}

// TestLimitBreachesAreLogged: the host logs each run it stopped, with the module and why.
func TestLimitBreachesAreLogged(t *testing.T) { eachGuest(t, testLimitBreachesAreLogged) }

func testLimitBreachesAreLogged(t *testing.T, guest string) {
	var logs safeBuffer
	h := newHost(t, testConfig+"modules:\n  bomb: {memory_limit: 32MiB}\n", host.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), host.WithDefaultGuest(guest))
	ctx := context.Background()
	_ = h.Run(ctx, host.Script{Module: "spin", Name: "x.lua", Source: []byte(`while true do end`), Timeout: 50 * time.Millisecond})
	_ = h.Run(ctx, host.Script{Module: "bomb", Name: "x.lua", Source: []byte(`local s = string.rep("x", 2^28)`)})
	re := runErr(t, h.Run(ctx, host.Script{Module: "fine", Name: "x.lua", Source: []byte(`error("a script error is not a breach")`)}))
	assert.Equal(t, abi.Unknown, re.Kind)
	out := logs.String()
	assert.Contains(t, out, `level=WARN msg="run stopped" module=spin kind=Timeout reason="script exceeded its timeout of 50ms"`)
	assert.Contains(t, out, `level=WARN msg="run stopped" module=bomb kind=Internal reason="memory limit exceeded (32MiB)"`)
	assert.NotContains(t, out, "module=fine")
}

// signalWriter closes ch on its first write.
type signalWriter struct {
	once sync.Once
	ch   chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ch) })
	return len(p), nil
}
