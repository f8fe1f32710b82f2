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

// FuzzJSONEncodeGuests: json.encode writes the same on both Lua guests for any value
// built from the input's bytes (numbers at the edges of the JSON forms, strings that
// need escapes or are not UTF-8, nesting past the limit, cycles, functions): the same
// JSON (as values) or the same error, word for word. Tables have at most one member or
// are dense arrays, so that table order cannot choose which error is reported.
func FuzzJSONEncodeGuests(f *testing.F) {
	for _, s := range []string{"", "\x04\x03\x00\x05\x01\x02\x02", "\x06\x07\x00\x04\x01\x00\x0d", "\x04\x01\x00\x0e",
		strings.Repeat("\x04\x01", 40), "\x06\x0b\x03\x01\x04", "\x07", "\x06\x00\x10\x00\x03"} {
		f.Add(s)
	}
	hosts := map[string]*host.Host{}
	for _, g := range guests {
		hosts[g] = newHost(f, testConfig, host.WithDefaultGuest(g), host.WithLogger(discardLogger()))
	}
	const script = `local json = require("json")
local s = ...
local i = 0
local function byte() i = i + 1; return s:byte(i) or 0 end
local nums = {0, -0.0, 0.5, 1/3, 2^53, 2^53 + 2, -2^53 - 2, 2^60, 1e21, 1e-7, 123456.5, -1234567.5, 5e-324,
  1.7976931348623157e308, 0/0, 1/0, -1/0, 1e300, 0.1, -2^63, 2^62, 1e15 + 0.5, 100, -7}
local strs = {"", "a", "<&>", "\n\t\"\\\r\b\f", "\255", "\195\169", "\226\128\168\226\128\169", "\0", "k\1\127", "a\194\160b",
  "\240\159\152\128", "\237\160\128"}
local cyclic = {}
cyclic[1] = cyclic
local function key()
  local b = byte()
  if b % 2 == 0 then return strs[byte() % #strs + 1] end
  local n = nums[byte() % #nums + 1]
  if n ~= n then return 1 end
  return n
end
local function gen(depth)
  local b = byte()
  local k = b % 8
  if k == 0 then return nums[byte() % #nums + 1]
  elseif k == 1 then return strs[byte() % #strs + 1]
  elseif k == 2 then return b >= 128
  elseif k == 3 then return (byte() - 128) * 2^(byte() % 64 - 32)
  elseif k == 4 or k == 5 then
    local t = {}
    if depth > 36 then return t end
    for _ = 1, byte() % 4 do
      local v = gen(depth + 1)
      if v ~= nil then t[#t + 1] = v end
    end
    return t
  elseif k == 6 then
    local t = {}
    if depth > 36 then return t end
    t[key()] = gen(depth + 1)
    return t
  elseif b == 7 then return cyclic
  elseif b == 15 then return print
  end
  return nil
end
local v = gen(0)
local r, err = json.encode(v)
if err then print("refused", err:kind(), err:message()) return end
print(r)`
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
			if gopher != puc && !cutPathAgrees(gopher, puc) {
				t.Fatalf("%q:\ngopher-lua: %spuc-lua:    %s", in, gopher, puc)
			}
			return
		}
		if a, b := jsonValue(t, gopher), jsonValue(t, puc); a != b {
			t.Fatalf("%q:\ngopher-lua: %spuc-lua:    %s", in, gopher, puc)
		}
	})
}

// cutPathAgrees reports whether puc is gopher's message with the path cut short (the
// PUC Lua guest's messages have a fixed room; docs/decisions.md lists the difference):
// the same text up to the cut, and the same reason.
func cutPathAgrees(gopher, puc string) bool {
	i := strings.Index(puc, "...: ")
	return i > 0 && strings.HasPrefix(gopher, puc[:i]) && strings.HasSuffix(gopher, puc[i+3:])
}
