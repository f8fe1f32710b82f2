package lualib

import (
	lua "github.com/yuin/gopher-lua"

	"strings"
	"testing"
)

// The json module's behaviour cases run on both Lua guests in host/json_test.go
// (jsonModuleCases); this file keeps the decoder's refusals, run natively.

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
