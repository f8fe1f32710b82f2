package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// TestPoolFreshEnvironment: runs on one reused instance each start from pristine
// globals, libraries and modules, whatever the previous script did to them.
func TestPoolFreshEnvironment(t *testing.T) { eachGuest(t, testPoolFreshEnvironment) }

func testPoolFreshEnvironment(t *testing.T, guest string) {
	h := newHost(t, testConfig+"modules:\n  pooled: {pool_size: 1}\n", host.WithDefaultGuest(guest))
	vandal := `
local hidden = getmetatable(require("store").get("app:cache")) == false and getmetatable(errors.new("x")) == false
assert(hidden, "the store and error metatables are hidden")
leaked = "yes"
string.rep = nil
getmetatable("").__index.upper = function() return "hacked" end
table.insert = nil
math.pi = 3
package.preload.store = function() return {get = function() return "fake" end} end
package.loaded.errors = "gone"
require("store").get = nil
errors.new = nil
print = nil
pcall = nil
`
	check := `
show(leaked, type(string.rep), ("x"):upper(), type(table.insert), math.pi == 3)
show(type(require("store").get), type(errors.new), type(require("errors").new), type(print), type(pcall))
show(require("store").get("app:cache"):set("k", 1), errors.new("CONFLICT", "m"):kind())
`
	out, err := runLuaAs(t, h, "pooled", vandal)
	require.NoError(t, err, out)
	out, err = runLuaAs(t, h, "pooled", check)
	require.NoError(t, err)
	assert.Equal(t, "nil \"function\" \"X\" \"function\" false\n\"function\" \"function\" \"function\" \"function\" \"function\"\ntrue \"Conflict\"\n", out)
	stats := h.PoolStats()
	assert.Equal(t, uint64(1), stats.Created, "the second run must reuse the first run's instance")
	assert.Equal(t, uint64(1), stats.Reused)
	assert.Equal(t, 1, h.Idle("pooled"))
}

// TestPoolDiscardsBrokenInstances: an instance that timed out or hit its memory limit
// is never reused; a script error does not break an instance.
func TestPoolDiscardsBrokenInstances(t *testing.T) {
	eachGuestAndPreemption(t, testPoolDiscardsBrokenInstances)
}

func testPoolDiscardsBrokenInstances(t *testing.T, guest string, mode host.Preemption) {
	h := newHost(t, testConfig+"modules:\n  m: {memory_limit: 32MiB}\n", host.WithPreemption(mode), host.WithDefaultGuest(guest))
	ctx := context.Background()
	run := func(src string, timeout time.Duration) error {
		return h.Run(ctx, host.Script{Module: "m", Name: "x.lua", Source: []byte(src), Timeout: timeout})
	}
	require.NoError(t, run(`x = 1`, time.Minute))
	assert.Equal(t, 1, h.Idle("m"))

	re := runErr(t, run(`error(errors.new("CONFLICT", "script error"))`, time.Minute))
	assert.Equal(t, abi.Conflict, re.Kind)
	assert.Equal(t, 1, h.Idle("m"), "a script error leaves the instance usable")

	re = runErr(t, run(`while true do end`, 100*time.Millisecond))
	assert.Equal(t, abi.Timeout, re.Kind)
	assert.Equal(t, 0, h.Idle("m"), "a timed-out instance is discarded")

	re = runErr(t, run(`local s = string.rep("x", 2^28)`, time.Minute))
	assert.Contains(t, re.Message, "memory limit exceeded")
	assert.Equal(t, 0, h.Idle("m"), "an instance that hit its memory limit is discarded")

	require.NoError(t, run(`x = 1`, time.Minute))
	assert.Equal(t, uint64(2), h.PoolStats().Discarded)
}

func TestPoolPrewarmAndSize(t *testing.T) { eachGuest(t, testPoolPrewarmAndSize) }

func testPoolPrewarmAndSize(t *testing.T, guest string) {
	h := newHost(t, testConfig+"modules:\n  warm: {prewarm: 2, pool_size: 2}\n", host.WithDefaultGuest(guest))
	assert.Equal(t, 2, h.Idle("warm"))
	assert.Equal(t, uint64(2), h.PoolStats().Created)
	require.NoError(t, h.Prewarm(context.Background(), "warm", 5))
	assert.Equal(t, 2, h.Idle("warm"), "prewarm stops at the pool size")
	out, err := runLuaAs(t, h, "warm", `print("hi")`)
	require.NoError(t, err)
	assert.Equal(t, "hi\n", out)
	assert.Equal(t, uint64(2), h.PoolStats().Created)
}
