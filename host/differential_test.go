package host_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/host"
)

// differentialScripts run in order on one host; each prints what it sees (with show
// from the prelude) and leaves its effects in the stores. They are small because the
// interpreter is slow.
var differentialScripts = []struct{ name, src string }{
	{"numbers", `
show(1/3, 2^53, 2^53 + 1, -0.0, 0.1 + 0.2, 1e300 * 1e10, -(1e300 * 1e10), 7 % 3, -7 % 3, 7.5 % 2)
show(math.floor(-2.5), math.ceil(2.1), math.max(3, 9, 1), math.sqrt(2), math.fmod(7, -3), math.abs(-4))
show(string.format("%d %5.2f %g %g %e %x %o %c", 42, math.pi, 1e20, 1e-5, 12345.678, 255, 8, 65))
show(tonumber("0x1F"), tonumber("1e3"), tonumber("  12  "), tonumber("z", 36), tonumber("nope"), tostring(1e15), tostring(1e16))
local nan = 0/0
show(nan ~= nan, 3 == 3.0, "10" + 5, 10 .. 20)`},
	{"strings", `
local s = "Hello, wasmkv: 123 + 456"
show(s:upper(), s:lower(), s:len(), #s, s:sub(2, 5), s:sub(-3), s:rep(2, nil))
show(s:find("wasm"), s:find("%d+"), s:match("(%d+) %+ (%d+)"))
show((s:gsub("%d", function(d) return d * 2 end)), (s:gsub("%a+", "<%0>", 2)))
local words = {}
for w in s:gmatch("%a+") do words[#words + 1] = w end
show(table.concat(words, "|"), s:byte(1, 3), string.char(72, 105), ("abc"):reverse())
show(string.format("%q", "line\nbreak\0zero\"quote"), ("x"):rep(0), ("ab"):rep(3, ","))`},
	{"tables", `
local t = {5, 3, 8, 1, 9, 2}
table.sort(t)
show(table.concat(t, ","), #t, select("#", unpack(t)))
table.sort(t, function(a, b) return a > b end)
table.insert(t, 1, 0) table.insert(t, 100) show(table.remove(t), table.remove(t, 1), table.concat(t, ","))
local m = {b = 2, a = 1, c = 3}
local keys = {}
for k in pairs(m) do keys[#keys + 1] = k end
table.sort(keys)
show(table.concat(keys), next({}), rawequal(m, m), rawlen and rawlen(t))
local mt = setmetatable({}, {__index = function(_, k) return k .. "!" end, __call = function(_, x) return x * 2 end})
show(mt.hi, mt(21), getmetatable("").__index == string)`},
	{"errors", `
local ok, e = pcall(error, "plain")
show(ok, e)
ok, e = pcall(error, {code = 7})
show(ok, type(e), e.code)
ok, e = pcall(function() local x = nil; return x.y end)
show(ok, e)
ok, e = pcall(error, "lvl", 2)
show(ok, e)
show(xpcall(function() error("deep") end, function(m) return "handled: " .. m end))
show(select("#", pcall(function() return 1, nil, 3 end)), pcall(string.rep))
local function counter() local n = 0 return function() n = n + 1 return n end end
local c1, c2 = counter(), counter()
show(c1(), c1(), c2(), c1())
local function count(n) if n == 0 then return 0 end return 1 + count(n - 1) end
show(count(150))`},
	{"store basics", `
local store = require("store")
local c = assert(store.get("app:cache"))
show(c:set("n:int", 42), c:set("n:big", 2^53 + 2), c:set("n:frac", -0.125), c:set("b:true", true))
show(c:set("s:utf8", "héllo"), c:set("s:bin", "\0\255\1"), c:set("t:list", {1, "two", {3}}), c:set("t:map", {x = 1, y = {z = "deep"}}))
local m = c:get("t:map")
show(c:get("n:int"), c:get("n:big"), c:get("n:frac"), c:get("b:true"), c:get("s:utf8"), c:get("s:bin"), m.x, m.y.z, #c:get("t:list"))
show(c:has("n:int"), c:has("missing"), c:delete("n:int"), c:delete("n:int"), c:get("n:int"))
show(c:set("ttl:key", "soon", 30), c:set("ttl:frac", "sooner", 0.3))`},
	{"store extended", `
local c = assert(require("store").get("app:cache"))
local e = c:entry("ttl:key")
show(e.value, e.ttl, type(e.version))
local p1 = c:put("lock", "a", {only_if_absent = true})
show(p1 ~= nil, c:put("lock", "b", {only_if_absent = true}))
local cur = c:entry("lock")
show(c:put("lock", "c", {if_version = cur.version}) ~= nil, c:put("lock", "d", {if_version = cur.version}))
show(c:incr("hits"), c:incr("hits", 2.5), c:incr("hits", -10), c:incr("s:utf8"))
for i = 1, 5 do c:set(string.format("page:%02d", i), i * i) end
local page = c:list({prefix = "page:", limit = 2})
local seen = {}
while true do
  for _, it in ipairs(page.items) do seen[#seen + 1] = it.key .. "=" .. tostring(it.value) end
  if not page.has_more then break end
  page = c:list({prefix = "page:", limit = 2, after = page.cursor})
end
show(table.concat(seen, " "))
local info = c:info()
show(info.id, info.backend, info.consistency, info.list, info.ttl)`},
	{"store refusals", `
local store = require("store")
local small = assert(store.get("app:small"))
show(small:set("", 1), small:set("toolongkey", 1), small:set("k", string.rep("v", 100)))
show(small:set("a", 1), small:set("b", 2), small:set("c", 3))
show(store.get("nope"), store.get("elsewhere"), store.get(""))
local lru = assert(store.get("app:lru"))
lru:set("x", 1) lru:set("y", 2) lru:get("x") lru:set("z", 3)
show(lru:has("x"), lru:has("y"), lru:has("z"))
small:release()
show(pcall(function() return small:get("a") end))
local errors = require("errors")
show(errors.NOT_FOUND, errors.INVALID)`},
	{"args and output", `
local a, b, c = ...
show(select("#", ...), a, b, c)
print(string.rep("=", 60))
print(nil, 1, "two", true)
print()`},
	{"failure", `
require("store").get("app:cache"):set("before:failure", "kept")
error("the script fails")`},
	{"returned error", `
local errors = require("errors")
return nil, errors.new(errors.CONFLICT, "returned on purpose")`},
	{"syntax error", `local x = = 1`},
	// json prints JSON text, not Lua numbers, and encodes no table of two or more
	// members: both guests write JSON numbers alike, but members in table order.
	{"json", `
local json = require("json")
print(json.encode({1, 2.5, -3, "x", true, {false}, {}, {k = {[1.5] = "a"}}, {[2^60] = 1}, {[-3] = "n"}}))
print(json.encode({0.1, 1/3, 2^53, 2^53 + 2, 2^60, 1e21, 1e-7, 123456.5, 1234567.5, -0.0, 5e-324, 1.7976931348623157e308}))
print(json.encode("tab\tquote\"back\\slash<&>\1 \195\169 \226\128\168"))
local v = json.decode('{"a":[1,2.5e3,"s\\u00e9\\ud83d\\ude00",true,false,null,{"b":null}],"n":-0.125}')
print(json.encode(v.a[1]), json.encode(v.a[2]), json.encode(v.a[3]), v.a[4], v.a[5], v.a[6], json.encode(v.a[7]), json.encode(v.n))
for _, s in ipairs({'{"a":1,"a":2}', '[1,]', '"\\ud800"', '9007199254740993', '1e400', '\239\187\191{}', '{"a" 1}', string.rep("[", 33) .. string.rep("]", 33)}) do
  local r, err = json.decode(s)
  print(r, err:kind(), err:message())
end
local t = {}
t.self = t
for _, x in ipairs({{f = print}, t, {x = 0/0}, {y = {1/0}}, {b = "\255"}, {["k\n\"\195\169"] = {-1/0}}}) do
  local r, err = json.encode(x)
  print(r, err:kind(), err:message())
end
print(pcall(json.decode, 12))`},
}

// differentialOutcome is what one script did: its output and how its run ended.
type differentialOutcome struct {
	out, err string
}

// runDifferential runs the scripts in order on h and returns their outcomes and every
// store's entries afterwards.
func runDifferential(t *testing.T, h *host.Host) ([]differentialOutcome, map[string][]host.Entry) {
	ctx := context.Background()
	outcomes := make([]differentialOutcome, len(differentialScripts))
	for i, s := range differentialScripts {
		var out safeBuffer
		err := h.Run(ctx, host.Script{Module: "test", Name: "diff.lua", Source: []byte(prelude + s.src),
			Args: []string{"one", "", "three"}, Stdout: &out, Timeout: 2 * time.Minute})
		outcomes[i].out = out.String()
		if err != nil {
			outcomes[i].err = fmt.Sprintf("%T %v", err, err)
		}
	}
	stores := map[string][]host.Entry{}
	for _, id := range []string{"app:cache", "app:small", "app:lru"} {
		s, ok := h.Store(id)
		require.True(t, ok, id)
		for after := ""; ; {
			page, err := s.List(ctx, host.ListOptions{After: after, Limit: abi.MaxListLimit})
			require.NoError(t, err)
			stores[id] = append(stores[id], page.Items...)
			if !page.HasMore {
				break
			}
			after = page.Cursor
		}
	}
	return outcomes, stores
}

// TestDifferentialEngines runs the same scripts under wazero's interpreter and its
// compiler (each on its own host, with the same clock) and asserts that they print
// the same, end the same, and leave the same entries (values, versions and expiries)
// in every store.
func TestDifferentialEngines(t *testing.T) {
	if testing.Short() {
		t.Skip("the interpreter is slow")
	}
	eachGuest(t, testDifferentialEngines)
}

func testDifferentialEngines(t *testing.T, guest string) {
	newDiffHost := func(opts ...host.Option) *host.Host {
		clock := engine.NewManualClock(time.Unix(1_700_000_000, 0))
		return newHost(t, testConfig, append(opts, host.WithClock(clock), host.WithLogger(discardLogger()), host.WithDefaultGuest(guest))...)
	}
	var (
		wg                     sync.WaitGroup
		interpOut, compOut     []differentialOutcome
		interpStore, compStore map[string][]host.Entry
	)
	start := time.Now()
	interp := newDiffHost(host.WithInterpreter())
	compiler := newDiffHost()
	wg.Go(func() { interpOut, interpStore = runDifferential(t, interp) })
	wg.Go(func() { compOut, compStore = runDifferential(t, compiler) })
	wg.Wait()
	t.Logf("%d scripts on both engines in %v", len(differentialScripts), time.Since(start).Round(time.Millisecond))

	for i, s := range differentialScripts {
		assert.Equal(t, compOut[i], interpOut[i], "script %q: compiler (expected) vs interpreter (actual)", s.name)
	}
	assert.Equal(t, compStore, interpStore, "stores: compiler (expected) vs interpreter (actual)")

	// The scripts did run: a sanity check that the comparison is not of two empty sets.
	assert.Contains(t, compOut[0].out, byGuest(guest, "9007199254740992", "9.007199254741e+15"))
	assert.Contains(t, compOut[8].err, "the script fails")
	assert.NotEmpty(t, compStore["app:cache"])
	for i, o := range compOut {
		assert.False(t, strings.Contains(o.out, "attempt to call") || strings.Contains(o.err, "attempt to call"),
			"script %q uses something the guest lacks:\n%s%s", differentialScripts[i].name, o.out, o.err)
	}
}

// TestDifferentialGuests runs the same scripts on the gopher-lua and the PUC Lua guest
// (each on its own host, with the same clock) and asserts that they leave the same
// entries (values, versions and expiries) in every store, end the same, and print the
// same, but for the lines of guestDifferences: each is a difference that
// docs/decisions.md lists.
func TestDifferentialGuests(t *testing.T) {
	newDiffHost := func(guest string) *host.Host {
		clock := engine.NewManualClock(time.Unix(1_700_000_000, 0))
		return newHost(t, testConfig, host.WithDefaultGuest(guest), host.WithClock(clock), host.WithLogger(discardLogger()))
	}
	gopherOut, gopherStore := runDifferential(t, newDiffHost(host.GuestGopherLua))
	pucOut, pucStore := runDifferential(t, newDiffHost(host.GuestPucLua))
	// Maps are written in table order, which differs: compare values, not bytes.
	assert.Equal(t, decodedEntries(t, gopherStore), decodedEntries(t, pucStore), "stores: gopher-lua (expected) vs puc-lua (actual)")
	assert.NotEmpty(t, gopherStore["app:cache"])
	// The json script ran to its end on both, not to the same early failure.
	assert.Contains(t, gopherOut[len(gopherOut)-1].out, "1.2345675e+06")
	assert.Contains(t, gopherOut[len(gopherOut)-1].out, "(string expected, got number)")
	for i, s := range differentialScripts {
		lines := strings.Split(gopherOut[i].out, "\n")
		for j, l := range lines {
			if p, ok := guestDifferences[[2]string{s.name, l}]; ok {
				lines[j] = p
			}
		}
		assert.Equal(t, strings.Join(lines, "\n"), pucOut[i].out, "script %q: what it printed", s.name)
		gerr := gopherOut[i].err
		if p, ok := guestDifferences[[2]string{s.name, gerr}]; ok {
			gerr = p
		}
		assert.Equal(t, gerr, pucOut[i].err, "script %q: how the run ended", s.name)
	}
}

// decodedEntries is the stores' entries with their values decoded.
func decodedEntries(t *testing.T, stores map[string][]host.Entry) map[string][]any {
	out := map[string][]any{}
	for id, entries := range stores {
		for _, e := range entries {
			var v any
			require.NoError(t, e.Decode(&v))
			out[id] = append(out[id], []any{e.Key, v, e.Version, e.TTL})
		}
	}
	return out
}

// guestDifferences maps a script and a line the gopher-lua guest prints (or its run
// error) to what the PUC Lua guest prints instead.
var guestDifferences = map[[2]string]string{
	// Numbers: PUC Lua prints with "%.14g", keeps -0, spells infinity "inf"; gopher-lua
	// prints the shortest exact form. gopher-lua's tonumber refuses "1e3".
	{"numbers", `0.3333333333333333 9007199254740992 9007199254740992 0 0.30000000000000004 +Inf -Inf 1 2 1.5`}: `0.33333333333333 9.007199254741e+15 9.007199254741e+15 -0 0.3 inf -inf 1 2 1.5`,
	{"numbers", `-3 3 9 1.4142135623730951 1 4`}:                                                                `-3 3 9 1.4142135623731 1 4`,
	{"numbers", `31 nil 12 35 nil "1000000000000000" "10000000000000000"`}:                                      `31 1000 12 35 nil "1e+15" "1e+16"`,
	{"store basics", `42 9007199254740994 -0.125 true "héllo" "\x00\xff\x01" 1 "deep" 3`}:                       "42 9.007199254741e+15 -0.125 true \"héllo\" \"\\000\xff\x01\" 1 \"deep\" 3",
	// string.format("%q"): PUC Lua escapes a newline as backslash-newline and NUL as \000,
	// and leaves other bytes as they are.
	{"strings", `"\"line\\nbreak\\x00zero\\\"quote\"" "" "ababab"`}: "\"\\\"line\\\\\\\nbreak\\\\000zero\\\\\\\"quote\\\"\" \"\" \"ababab\"",
	// Error messages: each Lua names the problem in its own words.
	{"errors", `false "diff.lua:21: attempt to index a non-table object(nil) with key 'y'"`}: `false "diff.lua:21: attempt to index local 'x' (a nil value)"`,
	{"errors", `false "lvl"`}: `false "diff.lua:23: lvl"`,
	{"errors", `4 false " bad argument #1 to main chunk (string expected, got nil)"`}: `4 false "bad argument #1 to '?' (string expected, got no value)"`,
	// A run's error: gopher-lua adds a stack traceback; the syntax errors are worded
	// by each parser.
	{"failure", "*abi.Error Unknown: diff.lua:18: the script fails\nstack traceback:\n\t[G]: in function 'error'\n\tdiff.lua:18: in main chunk\n\t[G]: ?"}: "*abi.Error Unknown: diff.lua:18: the script fails",
	{"syntax error", "*abi.Error Invalid: diff.lua line:16(column:11) near '=':   syntax error\n"}:                                                         "*abi.Error Invalid: diff.lua:16: unexpected symbol near '='",
}
