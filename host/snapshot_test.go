package host_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/host"
)

// snapshotMode is one way an instance can get its snapshot and go back to it.
type snapshotMode struct {
	name   string
	opt    host.Option
	reuses bool // instances serve more than one run
}

// snapshotModes: the isolation tests run under each one this system has.
var snapshotModes = func() []snapshotMode {
	modes := []snapshotMode{
		{"copy-image/copy-back", host.WithSnapshotMode("copy", "copy"), true},
		{"copy-image/recycle", host.WithSnapshotMode("copy", "recycle"), false},
	}
	if runtime.GOOS == "linux" {
		modes = append(modes,
			snapshotMode{"mapped-image/copy-back", host.WithSnapshotMode("map", "copy"), true},
			snapshotMode{"mapped-image/remap", host.WithSnapshotMode("map", "remap"), true},
			snapshotMode{"mapped-image/copy-written", host.WithSnapshotMode("map", "written"), true})
	}
	return modes
}()

// TestIdleTimeoutOnInjectedClock: an instance idle longer than its module's
// idle_timeout, on the host's clock, is closed rather than reused; one idle exactly
// the timeout is kept.
func TestIdleTimeoutOnInjectedClock(t *testing.T) {
	clock := engine.NewManualClock(time.Unix(1_700_000_000, 0))
	h := newHost(t, testConfig+"modules:\n  m: {pool_size: 2, prewarm: 2, idle_timeout: 1m}\n", host.WithClock(clock))
	require.Equal(t, 2, h.Idle("m"))
	created := h.PoolStats().Created

	clock.Advance(time.Minute)
	_, err := runLuaAs(t, h, "m", `x = 1`)
	require.NoError(t, err)
	assert.Equal(t, created, h.PoolStats().Created, "instances idle for exactly the timeout are reused")
	assert.Equal(t, 2, h.Idle("m"))

	clock.Advance(time.Minute + time.Nanosecond)
	_, err = runLuaAs(t, h, "m", `x = 1`)
	require.NoError(t, err)
	assert.Equal(t, created+1, h.PoolStats().Created, "the run must get a new instance: both idle ones expired")
	assert.Equal(t, 1, h.Idle("m"), "the expired instances are closed, the run's own goes back")
}

// TestSnapshotRunsLeaveNothing: for both Lua guests, under every snapshot mode, a run that replaces library
// functions, changes metatables, leaves globals and fills memory is invisible to the
// next run on the same instance, and the instance goes back to the pool.
func TestSnapshotRunsLeaveNothing(t *testing.T) {
	vandal := `
leaked = "yes"
string.rep = nil
getmetatable("").__index.upper = function() return "hacked" end
setmetatable(_G, {__index = function() return "from-mt" end})
table.insert = nil
math.pi = 3
package.preload.store = function() return {get = function() return "fake" end} end
package.loaded.errors = "gone"
require("store").get = nil
errors.new = nil
print = nil
local junk = {}
for i = 1, 20000 do junk[i] = "fill-fill-fill-fill-" .. i end
kept = junk
`
	check := `
show(leaked, rawequal(getmetatable(_G), nil), undefined_name, type(string.rep), ("x"):upper(), type(table.insert), math.pi == 3)
show(type(require("store").get), type(errors.new), type(require("errors").new), type(print), kept)
show(require("store").get("app:cache"):set("k", 1), errors.new("CONFLICT", "m"):kind())
`
	want := "nil true nil \"function\" \"X\" \"function\" false\n\"function\" \"function\" \"function\" \"function\" nil\ntrue \"Conflict\"\n"
	for _, guest := range []string{host.GuestGopherLua, host.GuestPucLua} {
		for _, mode := range snapshotModes {
			t.Run(guest+"/"+mode.name, func(t *testing.T) {
				testRunsLeaveNothing(t, guest, mode, vandal, check, want)
			})
		}
	}
}

// testRunsLeaveNothing runs vandal, then check on the same instance of guest.
func testRunsLeaveNothing(t *testing.T, guest string, mode snapshotMode, vandal, check, want string) {
	h := newHost(t, testConfig+"modules:\n  m: {pool_size: 1, guest: "+guest+"}\n", mode.opt)
	out, err := runLuaAs(t, h, "m", vandal)
	require.NoError(t, err, out)
	reused := h.PoolStats().Reused
	out, err = runLuaAs(t, h, "m", check)
	require.NoError(t, err)
	assert.Equal(t, want, out)
	if mode.reuses {
		assert.Equal(t, reused+1, h.PoolStats().Reused, "the check must run on the vandal's instance")
	}
}

// TestGrownInstanceRecycled (issue 12 item 9): a run whose buffers grew the instance's
// memory does not shrink the next run's: the instance is recycled, and the next run
// can allocate what a fresh instance can.
func TestGrownInstanceRecycled(t *testing.T) {
	h := newHost(t, testConfig+"modules:\n  m: {pool_size: 1, memory_limit: 128MiB}\n")
	const big = `local s = string.rep("x", 100 * 2^20) print(#s)`
	out, err := runLuaAs(t, h, "m", big)
	require.NoError(t, err, "a fresh instance allocates 100 MiB under a 128 MiB limit")
	require.Equal(t, "104857600\n", out)
	// A 15 MiB value is refused; its buffers grew the instance on the way.
	recycled := h.PoolStats().Recycled
	out, err = runLuaAs(t, h, "m", `local s = string.rep("x", 15 * 2^20) show(require("store").get("app:cache"):set("k", s))`)
	require.NoError(t, err)
	assert.Contains(t, out, "err(Invalid")
	assert.Greater(t, h.PoolStats().Recycled, recycled, "an instance that grew past the slack is recycled")
	for range 2 {
		out, err = runLuaAs(t, h, "m", big)
		require.NoError(t, err, "the next run allocates what a fresh instance can")
		assert.Equal(t, "104857600\n", out)
	}
}

// TestSnapshotRandom: every instance starts from the same bytes and goes back to them
// after each run, so randomness must come from the host per run: two instances from one
// snapshot (two modules of one host), and two runs on one instance, draw different
// numbers, under every snapshot mode.
func TestSnapshotRandom(t *testing.T) {
	for _, mode := range snapshotModes {
		t.Run(mode.name, func(t *testing.T) {
			h := newHost(t, testConfig+"modules:\n  a: {pool_size: 1}\n  b: {pool_size: 1}\n", mode.opt)
			draw := func(module string) string {
				out, err := runLuaAs(t, h, module, randomDraws)
				require.NoError(t, err)
				return out
			}
			a1, b1 := draw("a"), draw("b")
			reused := h.PoolStats().Reused
			a2 := draw("a")
			assert.NotEqual(t, a1, b1, "two instances from one snapshot")
			assert.NotEqual(t, a1, a2, "two runs on one instance")
			if mode.reuses {
				assert.Equal(t, reused+1, h.PoolStats().Reused, "the second draw of a must reuse a's instance")
			}
		})
	}
}
