package lualib

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// FuzzJSONDecode: json.decode never panics on any input, and what it accepts encodes
// back (unless holes from nulls make an array the store refuses) to text that decodes
// and encodes to the same text again.
func FuzzJSONDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",true,null],"b":{}}`, `"\ud83d\ude00"`, `[[[]]]`, `-0.0e+1`, `9007199254740992`, `{"a":1,"a":2}`, "\"\xff\"", `null`, ` null `} {
		f.Add(s)
	}
	v := New(nil)
	v.reset()
	if err := v.L.DoString(`json = require("json")
		function check(s)
			local x, err = json.decode(s)
			if err then return "refused" end
			local a = json.encode(x)
			if a == nil then return "unencodable" end
			-- decode gives nil for "null" with no error, so check the error, not the value.
			local y, derr = json.decode(a)
			assert(derr == nil, tostring(derr))
			local b = assert(json.encode(y))
			assert(a == b, "not idempotent: " .. a .. " vs " .. b)
			return "ok"
		end`); err != nil {
		f.Fatal(err)
	}
	check := v.L.GetGlobal("check")
	f.Fuzz(func(t *testing.T, s string) {
		if err := v.L.CallByParam(lua.P{Fn: check, NRet: 1, Protect: true}, lua.LString(s)); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		v.L.Pop(1)
	})
}
