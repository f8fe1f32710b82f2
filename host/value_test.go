package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

// deepEq is a Lua deep-equality used by the round-trip tests.
const deepEq = `
local function eq(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then
    if a ~= a and b ~= b then return true end -- NaN
    return a == b
  end
  for k, v in pairs(a) do if not eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
local c = require("store").get("app:cache")
local function roundtrip(name, v)
  local ok, err = c:set(name, v)
  if not ok then print(name, "set failed", tostring(err)) return end
  local got = c:get(name)
  print(name, eq(v, got), type(got))
end
`

func TestValueRoundTrip(t *testing.T) { eachGuest(t, testValueRoundTrip) }

func testValueRoundTrip(t *testing.T, guest string) {
	h, _ := newClockHost(t, host.WithDefaultGuest(guest))
	mustRun(t, h, deepEq+`
roundtrip("string", "hello")
roundtrip("binary", "\0\1\255\254 bytes")
roundtrip("empty string", "")
roundtrip("int", 42)
roundtrip("negative", -7)
roundtrip("2^53", 2^53)
roundtrip("-2^53", -2^53)
roundtrip("2^53+2", 2^53 + 2)
roundtrip("float", 0.5)
roundtrip("nan", 0/0)
roundtrip("inf", 1/0)
roundtrip("-inf", -1/0)
roundtrip("true", true)
roundtrip("false", false)
roundtrip("array", {1, "two", 3.5, true})
roundtrip("map", {name = "Alice", age = 30})
roundtrip("sparse", {[1] = "a", [3] = "c"})
roundtrip("mixed keys", {[1] = "a", x = "b", [2.5] = "c", [-1] = "d"})
roundtrip("nested", {user = {name = "A", tags = {"x", "y"}, meta = {deep = {deeper = {1, 2, {3}}}}}})
roundtrip("binary keys", {["\255\0"] = 1})
local empty = c:set("empty", {}) and c:get("empty")
print("empty", type(empty), next(empty))
local d = {}
local cur = d
for i = 1, 31 do cur.n = {} cur = cur.n end
roundtrip("depth 32", d)
`,
		"string\ttrue\tstring", "binary\ttrue\tstring", "empty string\ttrue\tstring",
		"int\ttrue\tnumber", "negative\ttrue\tnumber", "2^53\ttrue\tnumber", "-2^53\ttrue\tnumber",
		"2^53+2\ttrue\tnumber", "float\ttrue\tnumber", "nan\ttrue\tnumber", "inf\ttrue\tnumber",
		"-inf\ttrue\tnumber", "true\ttrue\tboolean", "false\ttrue\tboolean", "array\ttrue\ttable",
		"map\ttrue\ttable", "sparse\ttrue\ttable", "mixed keys\ttrue\ttable", "nested\ttrue\ttable",
		"binary keys\ttrue\ttable", "empty\ttable\tnil", "depth 32\ttrue\ttable")
}

func TestBadValues(t *testing.T) { eachGuest(t, testBadValues) }

func testBadValues(t *testing.T, guest string) {
	h, _ := newClockHost(t, host.WithDefaultGuest(guest))
	mustRun(t, h, `
local c = require("store").get("app:cache")
c:set("bad", "old")
show(c:set("bad", function() end))
show(c:set("bad", {items = {1, 2, print}}))
local cyc = {a = {}}
cyc.a.b = cyc
show(c:set("bad", cyc))
local d = {}
local cur = d
for i = 1, 32 do cur.n = {} cur = cur.n end
show(c:set("bad", d))
show(c:set("bad", {[true] = 1}))
show(c:set("bad", {x = {[{}] = 1}}))
show(c:set("bad", {u = c}))
show(c:get("bad"))`,
		`false err(Invalid,false,value: function is not storable)`,
		`false err(Invalid,false,value.items[3]: function is not storable)`,
		`false err(Invalid,false,value.a.b: cyclic table)`,
		`false err(Invalid,false,value.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n: nesting deeper than 32 levels)`,
		`false err(Invalid,false,value: table key of type boolean is not storable)`,
		`false err(Invalid,false,value.x: table key of type table is not storable)`,
		`false err(Invalid,false,value.u: userdata is not storable)`,
		`"old"`)
}

// TestGoAndLuaShareValues reads from Go what Lua wrote, and the other way round.
func TestGoAndLuaShareValues(t *testing.T) { eachGuest(t, testGoAndLuaShareValues) }

func testGoAndLuaShareValues(t *testing.T, guest string) {
	h, _ := newClockHost(t, host.WithDefaultGuest(guest))
	ctx := context.Background()
	s, ok := h.Store("app:cache")
	require.True(t, ok)

	mustRun(t, h, `
local c = require("store").get("app:cache")
assert(c:set("from:lua", {name = "Alice", age = 30, score = 2.5, tags = {"a", "b"}, ok = true}))`)
	var got struct {
		Name  string   `cbor:"name"`
		Age   int64    `cbor:"age"`
		Score float64  `cbor:"score"`
		Tags  []string `cbor:"tags"`
		OK    bool     `cbor:"ok"`
	}
	found, err := s.Get(ctx, "from:lua", &got)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "Alice", got.Name)
	assert.Equal(t, int64(30), got.Age)
	assert.Equal(t, 2.5, got.Score)
	assert.Equal(t, []string{"a", "b"}, got.Tags)
	assert.True(t, got.OK)

	var generic any
	_, err = s.Get(ctx, "from:lua", &generic)
	require.NoError(t, err)
	assert.Equal(t, int64(30), generic.(map[any]any)["age"], "an integer from Lua reads as int64")

	require.NoError(t, s.Set(ctx, "from:go", map[string]any{"id": 7, "items": []any{"x", 1.5}, "bin": []byte{0, 255}}, time.Minute))
	mustRun(t, h, `
local c = require("store").get("app:cache")
local v = c:get("from:go")
show(v.id, v.items[1], v.items[2], #v.bin, v.bin:byte(2))`,
		`7 "x" 1.5 2 255`)

	found, err = s.Get(ctx, "missing", &generic)
	require.NoError(t, err)
	assert.False(t, found)
}
