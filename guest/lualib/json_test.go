package lualib

import (
	lua "github.com/yuin/gopher-lua"

	"strings"
	"testing"
)

// The json module, exercised from Lua: each case is a chunk that raises on failure.
func TestJSONModule(t *testing.T) {
	v := New(nil)
	for _, src := range []string{
		// encode: scalars, arrays, objects, the number rule, escapes
		`assert(json.encode(nil) == "null")`,
		`assert(json.encode(true) == "true")`,
		`assert(json.encode(42) == "42")`,
		`assert(json.encode(-7) == "-7")`,
		`assert(json.encode(0.5) == "0.5")`,
		`assert(json.encode(2^53) == "9007199254740992")`,
		`assert(json.encode(2^60) == "1.152921504606847e+18", json.encode(2^60))`,
		`assert(json.encode({1, 2, "x"}) == '[1,2,"x"]')`,
		`assert(json.encode({}) == "{}")`,
		`assert(json.encode({a = {b = {true}}}) == '{"a":{"b":[true]}}')`,
		`assert(json.encode("a\"b\\c\n<&>\1") == '"a\\"b\\\\c\\n\\u003c\\u0026\\u003e\\u0001"')`,
		`assert(json.encode("héllo") == '"héllo"')`,
		`local u = json.decode(assert(json.encode({[2] = "x", [5] = "y"}))); assert(u["2"] == "x" and u["5"] == "y" and u[2] == nil)`,
		// encode failures give nil, err with kind Invalid and a path
		`local s, err = json.encode({f = print}); assert(s == nil and err:kind() == "Invalid" and err:message():find("value.f"), tostring(err))`,
		`local t = {}; t.self = t; local s, err = json.encode(t); assert(s == nil and err:message():find("cyclic"), tostring(err))`,
		`local s, err = json.encode({x = 0/0}); assert(s == nil and err:message():find("NaN"), tostring(err))`,
		`local s, err = json.encode({x = 1/0}); assert(s == nil, "inf")`,
		`local s, err = json.encode({b = "\255"}); assert(s == nil and err:message():find("UTF%-8"), tostring(err))`,
		`local d = {}; local c = d; for i = 1, 40 do c[1] = {}; c = c[1] end; local s, err = json.encode(d); assert(s == nil and err:message():find("deep"), tostring(err))`,
		// decode: values and structure
		`local v = json.decode('{"a": [1, 2.5, "x", true, false], "b": {"c": null}}'); assert(v.a[1] == 1 and v.a[2] == 2.5 and v.a[3] == "x" and v.a[4] == true and v.a[5] == false and next(v.b) == nil)`,
		`assert(json.decode(' 12 ') == 12)`,
		`assert(json.decode('-0.5e1') == -5)`,
		`assert(json.decode('"\\u00e9\\ud83d\\ude00\\n\\/"') == "é😀\n/")`,
		`local v, err = json.decode("null"); assert(v == nil and err == nil)`,
		`local v = json.decode("[1, null, 3]"); assert(v[1] == 1 and v[2] == nil and v[3] == 3)`,
		`assert(json.decode("9007199254740992") == 2^53)`,
		// decode: round trip
		`local t = {name = "Ada", tags = {"a", "b"}, n = 3, ok = true, nested = {x = {y = 1.25}}}; local u = json.decode(json.encode(t)); assert(u.name == "Ada" and u.tags[2] == "b" and u.n == 3 and u.ok and u.nested.x.y == 1.25)`,
	} {
		v.reset()
		if err := v.L.DoString(`local json = require("json"); ` + src); err != nil {
			t.Errorf("%s\n  %v", src, err)
		}
	}
}

// json.decode refuses what RFC 8259 does not allow, with an Invalid error.
func TestJSONDecodeRefuses(t *testing.T) {
	v := New(nil)
	deep := strings.Repeat("[", 33) + strings.Repeat("]", 33)
	ok := strings.Repeat("[", 32) + strings.Repeat("]", 32)
	for in, want := range map[string]string{
		``:                  "end of input",
		`{"a":1,}`:          "expected a string key",
		`[1,]`:              "invalid character",
		`01`:                "leading zero",
		`1.`:                "fraction",
		`1e`:                "exponent",
		`+1`:                "invalid character",
		`NaN`:               "invalid character",
		`'x'`:               "invalid character",
		`"a`:                "unterminated",
		"\"a\tb\"":          "control character",
		`"\x"`:              "invalid escape",
		`"\ud800"`:          "surrogate",
		`"\udc00\ud800"`:    "surrogate",
		"\"\xff\"":          "UTF-8",
		`{"a":1,"a":2}`:     "duplicate key",
		`[1] [2]`:           "data after",
		`// c` + "\n1":      "invalid character",
		deep:                "deeper than 32",
		`9007199254740993`:  "2^53",
		`-9007199254740993`: "2^53",
		`1e400`:             "out of range",
		"\xef\xbb\xbf1":     "invalid character",
		`{"a" 1}`:           "expected ':'",
		`tru`:               "invalid character",
	} {
		v.reset()
		v.L.SetGlobal("input", lua.LString(in))
		err := v.L.DoString(`local json = require("json")
			local r, err = json.decode(input)
			assert(r == nil and err ~= nil, "accepted")
			assert(err:kind() == "Invalid", err:kind())
			result = err:message()`)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if msg := v.L.GetGlobal("result").String(); !strings.Contains(msg, want) {
			t.Errorf("%q: error %q does not mention %q", in, msg, want)
		}
	}
	v.reset()
	v.L.SetGlobal("input", lua.LString(ok))
	if err := v.L.DoString(`assert(require("json").decode(input))`); err != nil {
		t.Errorf("depth 32 refused: %v", err)
	}
}
