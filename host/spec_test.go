package host_test

import (
	"testing"

	"github.com/wasmkv/wasmkv/host"
)

// Raised errors carry the calling Lua code's position (test.lua:N, after the 16-line
// prelude); an argument error of a function that pcall calls directly has none, as in
// Lua 5.1.
//
// TestSpec runs every row and example of shared/spec/store-module.md and the rules of
// the spec decisions as real Lua in the real wasm guest. Each case prints what it
// observes with show(...), so each argument, return value and error kind is asserted.
func TestSpec(t *testing.T) { eachGuest(t, testSpec) }

func testSpec(t *testing.T, guest string) {
	h, _ := newClockHost(t, host.WithDefaultGuest(guest))
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"spec acquiring example", `
local store = require("store")
local cache, err = store.get("app:cache")
if err then return nil, err end
show(cache:set("user:123", {name = "Alice"}, 3600))
local user = cache:get("user:123")
show(user.name)
show(cache:release())`,
			[]string{`true`, `"Alice"`, `true`}},
		{"store.get returns handle and nil error", `
local s, err = require("store").get("app:cache")
show(tostring(s), err)`,
			[]string{`"store.Store{}" nil`}},
		{"store.get empty id", `show(require("store").get(""))`,
			[]string{`nil err(Invalid,false,store id is empty)`}},
		{"store.get unknown id", `show(require("store").get("nope"))`,
			[]string{`nil err(NotFound,false,store "nope" not found)`}},
		{"store.get number id is converted", `show(require("store").get(42))`,
			[]string{`nil err(PermissionDenied,false,permission denied: store.get on "42")`}},
		{"store.get bad id type raises", `
local ok, e = pcall(require("store").get, {})
show(ok, e)`,
			[]string{`false "bad argument #1 to 'get' (string expected, got table)"`}},
		{"set get plain and ttl", `
local c = require("store").get("app:cache")
show(c:set("user:123:name", "Alice"))
show(c:set("session:abc", {user_id = 123, role = "admin"}, 300))
show(c:get("user:123:name"))
local s = c:get("session:abc")
show(s.user_id, s.role)`,
			[]string{`true`, `true`, `"Alice"`, `123 "admin"`}},
		{"get missing is nil NotFound", `
local c = require("store").get("app:cache")
local v, err = c:get("missing:1")
show(v, err)
if not v then print("not found") end`,
			[]string{`nil err(NotFound,false,key "missing:1" not found)`, `not found`}},
		{"has", `
local c = require("store").get("app:cache")
show(c:has("has:1"))
c:set("has:1", 1)
show(c:has("has:1"))`,
			[]string{`false`, `true`}},
		{"delete reports existence", `
local c = require("store").get("app:cache")
c:set("del:1", "x")
show(c:delete("del:1"))
show(c:delete("del:1"))
show(c:get("del:1"))`,
			[]string{`true`, `false`, `nil err(NotFound,false,key "del:1" not found)`}},
		{"spec has example with errors.new", `
local c = require("store").get("app:cache")
c:set("lock:r1", true)
local function guard(resource_id)
  if c:has("lock:" .. resource_id) then
    return nil, errors.new("CONFLICT", "Resource is locked")
  end
  return true
end
show(guard("r1"))
show(guard("r2"))`,
			[]string{`nil err(Conflict,false,Resource is locked)`, `true`}},
		{"released store", `
local c = require("store").get("app:cache")
show(c:release())
show(c:release())
show(tostring(c))
show(c:get("k"))
show(c:set("k", 1))
show(c:has("k"))
show(c:delete("k"))
-- released comes before the key type check
show(c:get({}))`,
			[]string{`true`, `true`, `"store.Store{released}"`,
				`nil err(Invalid,false,store is released)`,
				`false err(Invalid,false,store is released)`,
				`false err(Invalid,false,store is released)`,
				`false err(Invalid,false,store is released)`,
				`nil err(Invalid,false,store is released)`}},
		{"methods are fields", `
local c = require("store").get("app:cache")
show(type(c.get), type(c.set), type(c.has), type(c.delete), type(c.release))`,
			[]string{`"function" "function" "function" "function" "function"`}},
		{"key type errors raise naming the argument", `
local c = require("store").get("app:cache")
show(pcall(c.get, c, {}))
show(pcall(function() return c:get({}) end))
show(pcall(c.set, c, true, 1))
show(pcall(c.has, c, nil))
show(pcall(c.delete, c, function() end))
show(pcall(c.set, c, "k", 1, "soon"))
show(pcall(c.get, "notastore", "k"))`,
			[]string{`false "bad argument #1 to 'get' (string expected, got table)"`,
				`false "test.lua:19: bad argument #1 to 'get' (string expected, got table)"`,
				`false "bad argument #1 to 'set' (string expected, got boolean)"`,
				`false "bad argument #1 to 'has' (string expected, got nil)"`,
				`false "bad argument #1 to 'delete' (string expected, got function)"`,
				`false "bad argument #3 to 'set' (number expected, got string)"`,
				`false "bad argument #1 to 'get' (store expected, got string)"`}},
		{"number key is converted", `
local c = require("store").get("app:cache")
c:set(12, "twelve")
show(c:get("12"))`,
			[]string{`"twelve"`}},
		{"numeric string ttl is accepted", `
local c = require("store").get("app:cache")
show(c:set("ttlstr", 1, "10"))`,
			[]string{`true`}},
		{"empty and long keys", `
local s = require("store")
local c = s.get("app:cache")
show(c:get(""))
show(c:set("", 1))
show(c:has(""))
show(c:delete(""))
local small = s.get("app:small")
show(small:set("123456789", 1))
show(small:set("12345678", 1))
show(c:set(string.rep("k", 1025), 1))
show(c:set(string.rep("k", 1024), 1))`,
			[]string{`nil err(Invalid,false,key is empty)`,
				`false err(Invalid,false,key is empty)`,
				`false err(Invalid,false,key is empty)`,
				`false err(Invalid,false,key is empty)`,
				`false err(Invalid,false,key is 9 bytes, longer than max_key_bytes 8)`,
				`true`,
				`false err(Invalid,false,key is 1025 bytes, longer than max_key_bytes 1024)`,
				`true`}},
		{"nil value", `
local c = require("store").get("app:cache")
show(c:set("nilv", nil))
show(c:set("nilv", nil, 10))`,
			[]string{`false err(Invalid,false,value is required)`, `false err(Invalid,false,value is required)`}},
		{"value too large", `
local c = require("store").get("app:small")
show(c:set("big", string.rep("x", 100)))
show(c:has("big"))`,
			[]string{`false err(Invalid,false,value: encoded value is larger than max_value_bytes 64)`, `false`}},
		{"full store", `
local c = require("store").get("app:small")
c:set("a", 1); c:set("b", 2)
show(c:set("c", 3))
show(c:set("a", 10))
show(c:get("a"))
c:delete("a")
show(c:set("c", 3))`,
			[]string{`false err(Unavailable,true,store is full)`, `true`, `10`, `true`}},
		{"lru store evicts", `
local c = require("store").get("app:lru")
c:set("a", 1); c:set("b", 2)
c:get("a")
show(c:set("c", 3))
show(c:has("a"), c:has("b"), c:has("c"))`,
			[]string{`true`, `true false true`}},
		{"errors module", `
show(errors.INVALID, errors.NOT_FOUND, errors.ALREADY_EXISTS, errors.PERMISSION_DENIED)
show(errors.UNAVAILABLE, errors.INTERNAL, errors.CANCELED, errors.CONFLICT)
show(errors.TIMEOUT, errors.RATE_LIMITED, errors.UNKNOWN)
show(require("errors") == errors)
local e = errors.new("CONFLICT", "busy")
show(e, tostring(e), e:kind() == errors.CONFLICT)
show(errors.new("Conflict", "by value"))
show(errors.new("plain message"))
show(errors.new({kind = "UNAVAILABLE", message = "down"}))
show(errors.new({kind = errors.UNAVAILABLE, message = "down", retryable = false}))
show(errors.new("TIMEOUT", "slow"), errors.new("RATE_LIMITED", "slow down"))
show(errors.is(e, errors.CONFLICT), errors.is(e, "CONFLICT"), errors.is(e, errors.INVALID), errors.is("x", errors.CONFLICT))
show(pcall(errors.new, "NO_SUCH_KIND", "m"))`,
			[]string{`"Invalid" "NotFound" "AlreadyExists" "PermissionDenied"`,
				`"Unavailable" "Internal" "Canceled" "Conflict"`,
				`"Timeout" "RateLimited" "Unknown"`,
				`true`,
				`err(Conflict,false,busy) "Conflict: busy" true`,
				`err(Conflict,false,by value)`,
				`err(Unknown,false,plain message)`,
				`err(Unavailable,true,down)`,
				`err(Unavailable,false,down)`,
				`err(Timeout,true,slow) err(RateLimited,true,slow down)`,
				`true true false false`,
				`false "bad argument #1 to 'new' (unknown error kind \"NO_SUCH_KIND\")"`}},
		{"gopher-lua issue 448: upvalues survive pcall", `
local n = 0
local function inc() n = n + 1 end
inc()
pcall(function() error("x") end)
inc(); inc()
print(n)`,
			[]string{`3`}},
		{"safe libraries only", `
show(type(os), type(io), type(dofile), type(loadfile), type(require), type(debug))
show(type(string.format), type(table.concat), type(math.floor), type(loadstring))
show(package.path, package.cpath)
show(pcall(function() return require("os") end))`,
			[]string{`"nil" "nil" "nil" "nil" "function" "nil"`,
				`"function" "function" "function" "function"`,
				`"" ""`,
				byGuest(guest, `false "test.lua:20: module os not found:\n\tno field package.preload['os'], "`,
					"false \"test.lua:20: module 'os' not found:\\\n\tno field package.preload['os']\"")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustRun(t, h, tc.src, tc.want...)
		})
	}
}

func TestScriptArgs(t *testing.T) { eachGuest(t, testScriptArgs) }

func testScriptArgs(t *testing.T, guest string) {
	h, _ := newClockHost(t, host.WithDefaultGuest(guest))
	out, err := runLua(t, h, `show(select("#", ...), ...)`, "a", "b c", "")
	if err != nil {
		t.Fatal(err)
	}
	if out != `3 "a" "b c" ""`+"\n" {
		t.Fatalf("got %q", out)
	}
}
