package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wasmkv/wasmkv/host"
)

// FuzzJSONGuests: json.decode gives the same on both Lua guests for any input: the same
// refusal, word for word, or values that json.encode writes as the same JSON (compared
// as values, numbers by their text: members come in each guest's table order).
func FuzzJSONGuests(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",true,null],"b":{}}`, `"\ud83d\ude00\u0000"`, `[[[]]]`, `-0.0e+1`,
		`9007199254740992`, `{"a":1,"a":2}`, "\"\xff\"", `[1e-400, 5e-324, 1.7976931348623157e308, 0.1, 123456789.25]`,
		`{"1":"a","2":"b"}`, `[null, null, 3]`, `{"a":null,"a":1}`, `"<&>\u2028"`} {
		f.Add(s)
	}
	hosts := map[string]*host.Host{}
	for _, g := range guests {
		hosts[g] = newHost(f, testConfig, host.WithDefaultGuest(g), host.WithLogger(discardLogger()))
	}
	const script = `local json = require("json")
local v, err = json.decode(...)
if err then print("refused", err:kind(), err:message()) return end
print(assert(json.encode(v)))`
	run := func(t *testing.T, g, in string) string {
		var out bytes.Buffer
		err := hosts[g].Run(context.Background(), host.Script{Module: "test", Name: "fuzz.lua",
			Source: []byte(script), Args: []string{in}, Stdout: &out, Timeout: time.Minute})
		if err != nil {
			t.Fatalf("%s: %q: %v", g, in, err)
		}
		return out.String()
	}
	f.Fuzz(func(t *testing.T, in string) {
		gopher, puc := run(t, host.GuestGopherLua, in), run(t, host.GuestPucLua, in)
		if strings.HasPrefix(gopher, "refused") || strings.HasPrefix(puc, "refused") {
			if gopher != puc {
				t.Fatalf("%q:\ngopher-lua: %spuc-lua:    %s", in, gopher, puc)
			}
			return
		}
		if a, b := jsonValue(t, gopher), jsonValue(t, puc); a != b {
			t.Fatalf("%q:\ngopher-lua: %spuc-lua:    %s", in, gopher, puc)
		}
	})
}

// jsonValue is the JSON text s with objects' members sorted, numbers kept as written.
func jsonValue(t *testing.T, s string) string {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
