package host_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// Tests of what only the PUC Lua guest has: protected calls through the host
// (host/unwind.go), coroutines, and C Lua's own limits. Everything else runs on both
// guests through eachGuest.

func newPucHost(t *testing.T, cfg string) *host.Host {
	return newHost(t, cfg, host.WithDefaultGuest(host.GuestPucLua), host.WithLogger(discardLogger()))
}

// TestPucLuaProtectedCalls: pcall, xpcall, error and coroutines unwind correctly
// through the host, nested, from inside coroutines, and across stack overflow and
// out-of-memory errors, and the state stays consistent after each.
func TestPucLuaProtectedCalls(t *testing.T) {
	h := newPucHost(t, testConfig+"modules:\n  test: {memory_limit: 32MiB}\n")
	mustRun(t, h, `
local function count(n) if n == 0 then return 0 end return 1 + count(n - 1) end
show(pcall(error, "x"))
show(pcall(error))
show(pcall(error, setmetatable({}, {__tostring = function() return "obj" end})) and "" or "caught obj")
show(select("#", pcall(function() return 1, nil, 3 end)))
show(pcall(pcall, error, "inner"))
show(xpcall(function() error("deep") end, function(m) return "handled: " .. m end))
local depth = 0
local function nest(n) if n == 0 then error("bottom") end depth = depth + 1 local ok, e = pcall(nest, n - 1) error(e, 0) end
local okn, en = pcall(nest, 50)
show(okn, en, depth)
local co = coroutine.create(function(a)
  local ok, e = pcall(error, "inside co")
  local b = coroutine.yield(a + 1, ok, e)
  error("co fails " .. b)
end)
show(coroutine.resume(co, 1))
show(coroutine.resume(co, 5))
show(coroutine.status(co), coroutine.resume(co))
local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
show(gen(), gen(), gen())
local function rec() return 1 + rec() end
local ok, e = pcall(rec)
show(ok, (e:gsub("^.-:%d+: ", "")))
local function cnest(n) return pcall(cnest, n + 1) end
local r = {pcall(cnest, 1)}
show(r[#r - 1], r[#r])
local ok2, e2 = pcall(string.rep, "x", 2^30)
show(ok2, e2)
show(count(10000), pcall(error, "after all that"))`,
		`false "x"`,
		`false nil`,
		`"caught obj"`,
		`4`,
		`true false "inner"`,
		`false "handled: test.lua:23: deep"`,
		`false "test.lua:25: bottom" 50`,
		`true 2 false "inside co"`,
		`false "test.lua:31: co fails 5"`,
		`"dead" false "cannot resume dead coroutine"`,
		`1 2 3`,
		`false "stack overflow"`,
		`false "C stack overflow"`,
		`false "not enough memory"`,
		`10000 false "after all that"`)
}

// TestPucLuaPcallStaysFlat: pcall(error, "x") does not get slower as errors accumulate
// on one instance. Ten runs of 10,000 caught errors each (1,000 under -race) reuse one instance (and so the
// host's function handles and the guest's stack); each run checks its own count, which
// also proves the stack pointer is restored (100,000 leaked frames would overrun the
// guest's 1 MiB stack). The fastest of the last runs may take at most 3x the fastest of
// the early ones: a ratio of the same machine's times, generous for noise, and far below
// what accumulation gives.
func TestPucLuaPcallStaysFlat(t *testing.T) {
	h := newPucHost(t, testConfig+"modules:\n  test: {pool_size: 1}\n")
	perRun := 10_000
	if raceEnabled {
		perRun = 1_000 // each caught error is slower than the last under -race
	}
	src := fmt.Sprintf(`local n = 0
for i = 1, %d do local ok, e = pcall(error, "x") if not ok and e == "x" then n = n + 1 end end
print(n)`, perRun)
	times := make([]time.Duration, 10)
	reused := h.PoolStats().Reused
	for i := range times {
		start := time.Now()
		mustRun(t, h, src, fmt.Sprint(perRun))
		times[i] = time.Since(start)
	}
	assert.Equal(t, reused+uint64(len(times)-1), h.PoolStats().Reused, "every run after the first reuses the instance")
	// The fastest of each group: load on the machine only ever adds time.
	early, late := slices.Min(times[1:4]), slices.Min(times[7:])
	t.Logf("%d pcall(error) per run: early %v, late %v (%.2f µs per pcall)", perRun, early, late, float64(late.Microseconds())/float64(perRun))
	if raceEnabled {
		t.Log("timing not compared under the race detector (race_test.go)")
		return
	}
	assert.Less(t, late, 3*early, "pcall+error got slower as errors accumulated: %v", times)
}

// TestPucLuaTimeoutInsideProtectedCalls: the run's timeout stops a script wherever it
// spins: inside a pcall, in a coroutine, or between pcalls.
func TestPucLuaTimeoutInsideProtectedCalls(t *testing.T) {
	h := newPucHost(t, testConfig)
	for _, src := range []string{
		`pcall(function() while true do end end)`,
		`pcall(pcall, function() local c = require("store").get("app:cache") while true do c:set("k", 1) end end)`,
		`coroutine.wrap(function() while true do end end)()`,
		`while true do pcall(error, "x") end`,
	} {
		err := h.Run(context.Background(), host.Script{Module: "test", Name: "spin.lua", Source: []byte(src), Timeout: 100 * time.Millisecond})
		re := runErr(t, err)
		assert.Equal(t, abi.Timeout, re.Kind, src)
		mustRun(t, h, `print(pcall(error, "next"))`, "false\tnext")
	}
}

// TestPucLuaErrorValues: what a script raises becomes the run's error: an error object
// keeps its kind, any other value is Unknown with its tostring, and a __tostring that
// raises cannot break the run.
func TestPucLuaErrorValues(t *testing.T) {
	h := newPucHost(t, testConfig)
	for src, want := range map[string]string{
		`error(errors.new("CONFLICT", "taken"))`: "Conflict: taken",
		`error({})`:                              "Unknown: table: 0x",
		`error()`:                                "Unknown: nil",
		`error(setmetatable({}, {__tostring = function() return "custom" end}))`: "Unknown: custom",
		`error(setmetatable({}, {__tostring = function() error("again") end}))`:  "Unknown: (error object is a table value)",
		`return nil, setmetatable({}, {__tostring = function() return {} end})`:  "Unknown: (error object is a table value)",
		`error(12)`:           "Unknown: test.lua:1: 12",
		`return nil, "plain"`: "Unknown: plain",
		`local t = {} for i = 1, 200 do t = {t} end return nil, errors.new("NOT_FOUND", "deep")`: "NotFound: deep",
	} {
		err := h.Run(context.Background(), host.Script{Module: "test", Name: "test.lua", Source: []byte(src)})
		require.Error(t, err, src)
		assert.True(t, strings.HasPrefix(err.Error(), want), "%s: %v", src, err)
	}
}

// TestPucLuaSurface: the library surface matches the gopher-lua guest's: no io, os,
// debug, file loaders, C loaders or bytecode, in either direction.
func TestPucLuaSurface(t *testing.T) {
	h := newPucHost(t, testConfig)
	mustRun(t, h, `
show(io, os, debug, dofile, loadfile, module, string.dump, package.loadlib)
show(package.path, package.cpath, #package.loaders)
show(loadstring("\27Lua\81\0"))
local parts = {"\27Lua", "\81\0"}
local i = 0
show(load(function() i = i + 1 return parts[i] end))
show(loadstring("return 1 + 1")())
show(pcall(require, "io"))
show(require("store") ~= nil, require("errors") == errors)
show(_VERSION, type(coroutine.create), type(math.random), type(table.concat))`,
		`nil nil nil nil nil nil nil nil`,
		`"" "" 1`,
		`nil "attempt to load a binary chunk"`,
		`nil "attempt to load a binary chunk"`,
		`2`,
		"false \"module 'io' not found:\\\n\tno field package.preload['io']\"",
		`true true`,
		`"Lua 5.1" "function" "function" "function"`)
}

// TestRunsIsolated: nothing a script does to globals, libraries, metatables, package
// tables, the errors module, its own environment or the random generator reaches the
// next run on the same instance; each guest in turn. (The PUC Lua guest reuses one Lua
// state per instance and resets its environment per run.)
func TestRunsIsolated(t *testing.T) { eachGuest(t, testRunsIsolated) }

func testRunsIsolated(t *testing.T, guest string) {
	h := newHost(t, testConfig+"modules:\n  test: {pool_size: 1}\n", host.WithDefaultGuest(guest))
	probe := `show(leaked, co, ("a"):upper(), ("abc"):len(), errors.NOT_FOUND, errors.new ~= nil, require("errors").extra,
  type(require("store").get), package.loaded.extra, debug, x, pcall(function() return "a" + 1 end))`
	if guest == host.GuestPucLua {
		// The PUC Lua guest also restarts math.random; the gopher-lua guest's generator
		// runs on across runs (docs/decisions.md).
		probe += "\nshow(math.random(1000))"
	}
	out, err := runLua(t, h, probe)
	require.NoError(t, err)
	mustRun(t, h, `
leaked = "global"
if coroutine then co = coroutine.create(function() coroutine.yield() end) coroutine.resume(co) end
string.upper = function() return "hijacked" end
getmetatable("").__index = {len = function() return -1 end}
getmetatable("").__add = function() return "added" end
errors.NOT_FOUND = "nope"
errors.new = nil
require("errors").extra = true
package.loaded.extra = true
package.loaded.store = {get = "fake"}
package.preload.store = function() return {get = "fake"} end
package.loaders[1] = function() return function() return {get = "fake"} end end
debug = "x"
math.randomseed(42)
x = 1
print("polluted")`, "polluted")
	mustRun(t, h, probe, strings.TrimSuffix(out, "\n"))
	// The same chunk twice: what it did to its own environment is gone.
	mustRun(t, h, `print(x) x = 5 setfenv(1, {print = print, x = "kept"})`, "nil")
	mustRun(t, h, `print(x) x = 5 setfenv(1, {print = print, x = "kept"})`, "nil")
	assert.Positive(t, h.PoolStats().Reused)
}

// TestPucLuaUnwindLoadRefused: a guest that imports the unwinding functions wrongly, or
// cannot be unwound into, is refused when it is loaded.
func TestPucLuaUnwindLoadRefused(t *testing.T) {
	cfg, err := host.ParseConfig([]byte(testConfig))
	require.NoError(t, err)
	for _, tc := range []struct{ guest, want string }{
		{"load_unwind_i64", "imports wasmkv_lua_v1.try with signature (func (param i64 i64 i64) (result i32)), want (func (param i32 i32 i32) (result i32))"},
		{"load_unwind_unknown", "imports unknown function wasmkv_lua_v1.catch"},
		{"load_unwind_no_protected", `imports wasmkv_lua_v1.try but does not export function "wasmkv_lua_protected" (func (param i32 i32 i32))`},
	} {
		t.Run(tc.guest, func(t *testing.T) {
			h, err := host.New(context.Background(), cfg, host.WithGuest(watGuest(t, tc.guest)))
			if h != nil {
				h.Close(context.Background())
			}
			var ge *host.GuestError
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, "host: guest: "+tc.want, err.Error())
		})
	}
}

// TestPucLuaUnwindHostile: a guest that throws outside any protected call, nests them
// without end, or hides its stack pointer fails its run with Internal; the host keeps
// serving Lua.
func TestPucLuaUnwindHostile(t *testing.T) {
	h := newPucHost(t, testConfig)
	ctx := context.Background()
	for _, tc := range []struct{ guest, want string }{
		{"hostile_unwind_throw", "guest threw outside a protected call"},
		{"hostile_unwind_nest", "host: guest nested more than 1000 protected calls"},
		{"hostile_unwind_nosp", "does not export a mutable __stack_pointer"},
	} {
		t.Run(tc.guest, func(t *testing.T) {
			g, err := h.LoadGuest(ctx, watGuest(t, tc.guest))
			require.NoError(t, err)
			_, err = runGuest(ctx, h, host.Script{Module: "hostile", Guest: g})
			re := runErr(t, err)
			assert.Equal(t, abi.Internal, re.Kind)
			assert.True(t, strings.HasPrefix(re.Message, "guest trapped: "), re.Message)
			assert.Contains(t, re.Message, tc.want)
			mustRun(t, h, `print(pcall(error, "fine"))`, "false\tfine")
		})
	}
}

// BenchmarkTinyRun is a warm run of `return 1` on a pooled instance of each guest.
func BenchmarkTinyRun(b *testing.B) {
	for _, g := range guests {
		b.Run(g, func(b *testing.B) {
			h := newHost(b, testConfig, host.WithDefaultGuest(g))
			ctx := context.Background()
			s := host.Script{Module: "test", Name: "tiny.lua", Source: []byte("return 1")}
			require.NoError(b, h.Run(ctx, s))
			b.ResetTimer()
			for range b.N {
				if err := h.Run(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStoredBytesNeverBreakTheGuest: a store can hold bytes no guest wrote (another
// writer of a shared Redis, a bug): read from Lua, each is a value or an Internal error,
// never a trap, and both guests read each the same way.
func TestStoredBytesNeverBreakTheGuest(t *testing.T) {
	hosts := map[string]*host.Host{}
	for _, g := range guests {
		hosts[g] = newHost(t, testConfig, host.WithDefaultGuest(g), host.WithLogger(discardLogger()))
	}
	deep := strings.Repeat("\x81", 41) + "\x01"
	for i, raw := range []string{
		"", "\xff", "\x1f", "\x5f\x41\x61\xff", "\x9f\x01\xff", "\xc2\x41\x01", "\x44\x01\x02",
		"\x5b\xff\xff\xff\xff\xff\xff\xff\xff\x00", "\x9b\xff\xff\xff\xff\xff\xff\xff\xff",
		"\xba\x00\x10\x00\x01", "\xa1\x80\x01", "\xa1\xf9\x7e\x00\x01", "\xf8\x20", "\x01\x02", deep,
		"\xa1\x1a\x7f\xff\xff\xff\x01", "\xfb\x7f\xf8\x00\x00\x00\x00\x00\x01", "\xf7", "\xa2\x61\x61\x01\x61\x61\x02",
	} {
		key := fmt.Sprintf("raw:%d", i)
		outs := map[string]string{}
		for g, h := range hosts {
			s, ok := h.Store("app:cache")
			require.True(t, ok)
			require.NoError(t, host.StoreEngine(s).Set(context.Background(), key, []byte(raw), 0))
			out, err := runLua(t, h, fmt.Sprintf(`local v, err = require("store").get("app:cache"):get(%q)
if err then print(err:kind()) else print(type(v)) end`, key))
			require.NoError(t, err, "%s: %q", g, raw)
			assert.Contains(t, []string{"Internal\n", "nil\n", "number\n", "table\n"}, out, "%s: %q", g, raw)
			outs[g] = out
		}
		assert.Equal(t, outs[host.GuestGopherLua], outs[host.GuestPucLua], "%q", raw)
	}
}

// TestValueLimitStopsEncoding: a table that shares its subtables encodes to 2^30 leaves;
// each guest stops at the store's max_value_bytes instead of trying.
func TestValueLimitStopsEncoding(t *testing.T) { eachGuest(t, testValueLimitStopsEncoding) }

func testValueLimitStopsEncoding(t *testing.T, guest string) {
	h, _ := newClockHost(t, host.WithDefaultGuest(guest))
	mustRun(t, h, `local t = {1} for i = 1, 30 do t = {t, t} end
show(require("store").get("app:cache"):set("dag", t))
show(require("store").get("app:small"):set("k", string.rep("x", 65)))`,
		`false err(Invalid,false,value: encoded value is larger than max_value_bytes 1048576)`,
		`false err(Invalid,false,value: encoded value is larger than max_value_bytes 64)`)
}
