package host_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

// jsonModuleCases are the json module's behaviour tests, run on both Lua guests: each is
// a chunk that raises on failure.
var jsonModuleCases = []string{
	// encode: scalars, arrays, objects, the number rule, escapes
	`assert(json.encode(nil) == "null")`,
	`assert(json.encode(true) == "true")`,
	`assert(json.encode(42) == "42")`,
	`assert(json.encode(-7) == "-7")`,
	`assert(json.encode(0.5) == "0.5")`,
	`assert(json.encode(2^53) == "9007199254740992")`,
	`assert(json.encode(2^60) == "1.152921504606847e+18", json.encode(2^60))`,
	`assert(json.encode(1234567.5) == "1.2345675e+06", json.encode(1234567.5))`,
	`assert(json.encode(0.1 + 0.2) == "0.30000000000000004", json.encode(0.1 + 0.2))`,
	`assert(json.encode({1, 2, "x"}) == '[1,2,"x"]')`,
	`assert(json.encode({}) == "{}")`,
	`assert(json.encode({a = {b = {true}}}) == '{"a":{"b":[true]}}')`,
	`assert(json.encode("a\"b\\c\n<&>\1") == '"a\\"b\\\\c\\n\\u003c\\u0026\\u003e\\u0001"')`,
	`assert(json.encode("héllo") == '"héllo"')`,
	`assert(json.encode("héllo\226\128\168") == '"héllo\\u2028"')`,
	`local u = json.decode(assert(json.encode({[2] = "x", [5] = "y"}))); assert(u["2"] == "x" and u["5"] == "y" and u[2] == nil)`,
	// encode failures give nil, err with kind Invalid and a path
	`local s, err = json.encode({f = print}); assert(s == nil and err:kind() == "Invalid" and err:message():find("value.f"), tostring(err))`,
	`local t = {}; t.self = t; local s, err = json.encode(t); assert(s == nil and err:message():find("cyclic"), tostring(err))`,
	`local s, err = json.encode({x = 0/0}); assert(s == nil and err:message():find("NaN"), tostring(err))`,
	`local s, err = json.encode({x = 1/0}); assert(s == nil, "inf")`,
	`local s, err = json.encode({b = "\255"}); assert(s == nil and err:message():find("UTF%-8"), tostring(err))`,
	`local d = {}; local c = d; for i = 1, 40 do c[1] = {}; c = c[1] end; local s, err = json.encode(d); assert(s == nil and err:message():find("deep"), tostring(err))`,
	`local t = {x = 1}; t[2000000] = 2; local s, err = json.encode(t); assert(s == nil and err:message():find("too sparse"), tostring(err))`,
	// both directions stop at the ABI's request limit, 16 MiB
	`local s, err = json.encode({string.rep("<", 3e6)}); assert(s == nil and err:message() == "json.encode: result larger than 16777216 bytes", tostring(err))`,
	`local s, err = json.decode(string.rep(" ", 16 * 2^20 + 1)); assert(s == nil and err:message() == "json.decode: input larger than 16777216 bytes", tostring(err))`,
	// decode: values and structure
	`local v = json.decode('{"a": [1, 2.5, "x", true, false], "b": {"c": null}}'); assert(v.a[1] == 1 and v.a[2] == 2.5 and v.a[3] == "x" and v.a[4] == true and v.a[5] == false and next(v.b) == nil)`,
	`assert(json.decode(' 12 ') == 12)`,
	`assert(json.decode('-0.5e1') == -5)`,
	`assert(json.decode('"\\u00e9\\ud83d\\ude00\\n\\/"') == "é😀\n/")`,
	`local v, err = json.decode("null"); assert(v == nil and err == nil)`,
	`local v = json.decode("[1, null, 3]"); assert(v[1] == 1 and v[2] == nil and v[3] == 3)`,
	`assert(json.decode("9007199254740992") == 2^53)`,
	`assert(json.decode('{"1": "a"}')["1"] == "a")`,
	`local ok, err = pcall(json.decode, 12); assert(not ok and err:find("string expected, got number"), err)`,
	// decode: round trip
	`local t = {name = "Ada", tags = {"a", "b"}, n = 3, ok = true, nested = {x = {y = 1.25}}}; local u = json.decode(json.encode(t)); assert(u.name == "Ada" and u.tags[2] == "b" and u.n == 3 and u.ok and u.nested.x.y == 1.25)`,
}

func TestJSONModule(t *testing.T) {
	eachGuest(t, func(t *testing.T, guest string) {
		h := newHost(t, testConfig, host.WithDefaultGuest(guest))
		for _, src := range jsonModuleCases {
			if out, err := runLua(t, h, `local json = require("json"); `+src); err != nil {
				t.Errorf("%s\n  %v\n%s", src, err, out)
			}
		}
	})
}

// json.decode refuses what RFC 8259 does not allow, with an Invalid error whose message
// is the same on both guests.
func TestJSONDecodeRefuses(t *testing.T) {
	deep := strings.Repeat("[", 33) + strings.Repeat("]", 33)
	cases := []struct{ in, want string }{
		{``, "unexpected end of input at offset 0"},
		{`{"a":1,}`, "expected a string key at offset 7"},
		{`[1,]`, "invalid character ']' at offset 3"},
		{`01`, "a number may not have a leading zero at offset 0"},
		{`1.`, "a fraction needs digits at offset 2"},
		{`1e`, "an exponent needs digits at offset 2"},
		{`-x`, "a number needs digits at offset 1"},
		{`+1`, "invalid character '+' at offset 0"},
		{`NaN`, "invalid character 'N' at offset 0"},
		{`'x'`, `invalid character '\'' at offset 0`},
		{`"a`, "unterminated string at offset 2"},
		{"\"a\tb\"", "control character in a string at offset 2"},
		{`"\x"`, "invalid escape at offset 1"},
		{`"\u12zz"`, `invalid \u escape at offset 3`},
		{`"\u12`, `short \u escape at offset 3`},
		{`"\ud800"`, `lone surrogate in a \u escape at offset 7`},
		{`"\udc00\ud800"`, `lone surrogate in a \u escape at offset 7`},
		{`"\ud800\u0041"`, `lone surrogate in a \u escape at offset 13`},
		{"\"\xff\"", "invalid UTF-8 at offset 1"},
		{"\"\xed\xa0\x80\"", "invalid UTF-8 at offset 1"},
		{`{"a":1,"a":2}`, `duplicate key "a" at offset 7`},
		{`{"a":null,"a":2}`, `duplicate key "a" at offset 10`},
		{`[1] [2]`, "data after the value at offset 4"},
		{`// c` + "\n1", "invalid character '/' at offset 0"},
		{deep, "nested deeper than 32 at offset 32"},
		{`9007199254740993`, "integer beyond ±2^53, which a Lua number cannot hold exactly at offset 0"},
		{`-9007199254740993`, "integer beyond ±2^53, which a Lua number cannot hold exactly at offset 0"},
		{`123456789012345678901234567890`, "integer beyond ±2^53, which a Lua number cannot hold exactly at offset 0"},
		{strings.Repeat("9", 400), "number out of range at offset 0"},
		{`[9007199254740992, -9007199254740992, -0, 1e-400, 0.1] x`, "data after the value at offset 55"},
		{`1e400`, "number out of range at offset 0"},
		{"\xef\xbb\xbf1", "invalid character 'ï' at offset 0"},
		{"\x01", `invalid character '\x01' at offset 0`},
		{`{"a" 1}`, "expected ':' at offset 5"},
		{`{"a":1 "b"}`, "expected ',' or '}' at offset 7"},
		{`[1 2]`, "expected ',' or ']' at offset 3"},
		{`tru`, "invalid character 't' at offset 0"},
	}
	eachGuest(t, func(t *testing.T, guest string) {
		h := newHost(t, testConfig, host.WithDefaultGuest(guest))
		for _, c := range cases {
			out, err := runLua(t, h, `local json = require("json")
				local r, err = json.decode(...)
				assert(r == nil and err ~= nil, "accepted")
				assert(err:kind() == "Invalid", err:kind())
				print(err:message())`, c.in)
			if !assert.NoError(t, err, "%q", c.in) {
				continue
			}
			assert.Contains(t, out, "json.decode: "+c.want, "%q", c.in)
		}
		out, err := runLua(t, h, `local json = require("json")
			local v = assert(json.decode(...)); local n = 0
			while type(v) == "table" do n = n + 1; v = v[1] end
			print(n)`, strings.Repeat("[", 32)+"1"+strings.Repeat("]", 32))
		require.NoError(t, err, "depth 32 refused")
		assert.Equal(t, "32\n", out)
	})
}
