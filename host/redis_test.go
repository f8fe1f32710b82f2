package host_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/engine/redistest"
	"github.com/wasmkv/wasmkv/host"
)

// redisConfig has a memory store and a redis store side by side, so one script can show
// that Lua sees the same semantics from both.
func redisConfig(addr string) string {
	return fmt.Sprintf(`
stores:
  app:mem:
    kind: memory
  app:redis:
    kind: redis
    address: %s
    op_timeout: 500ms
    max_key_bytes: 64
policies:
  - {name: all, effect: allow}
`, addr)
}

// sameOnBoth is a script whose output must not depend on the engine behind the store.
const sameOnBoth = `
local id = ...
local c = assert(require("store").get(id))
local function ent(e, err)
  if not e then return show(e, err) end
  show(e.key, e.value, type(e.version), e.ttl ~= nil)
end
show(c:set("user:1", {name = "Alice", tags = {"a", "b"}, n = 3, f = 0.5}))
local u = c:get("user:1")
show(u.name, u.tags[2], u.n, u.f)
show(c:get("missing"))
show(c:has("user:1"), c:has("missing"))
show(c:set("bin\0key:\255", "v\0\1"))
show(c:get("bin\0key:\255") == "v\0\1")
show(c:set("ttl", 1, 30))
ent(c:entry("ttl"))
show(c:entry("ttl").ttl <= 30, c:entry("ttl").ttl > 29)
show(c:set("ttl", 2))
ent(c:entry("ttl"))
ent(c:put("lock", true, {only_if_absent = true, ttl = 5}))
ent(c:put("lock", true, {only_if_absent = true}))
local e = c:entry("user:1")
local e2 = c:put("user:1", "v2", {if_version = e.version})
show(e2.version ~= e.version)
ent(c:put("user:1", "v3", {if_version = e.version}))
show(c:incr("hits"), c:incr("hits", 5), c:incr("hits", 0.5))
show(c:incr("user:1"))
for i = 1, 5 do c:set("l:" .. i, i) end
local p = c:list({prefix = "l:", limit = 2})
show(#p.items, p.items[1].key, p.items[2].key, p.cursor, p.has_more)
p = c:list({prefix = "l:", after = p.cursor, limit = 10})
show(#p.items, p.items[1].key, p.has_more)
show(c:delete("user:1"), c:delete("user:1"))
show(c:set(string.rep("k", 65), 1))
local i = c:info()
show(i.list, i.versioned, i.conditional_put, i.ttl)
`

// TestRedisStoreFromLua runs the same script against a memory store and a redis store
// on a real server: Lua sees the same results.
func TestRedisStoreFromLua(t *testing.T) { eachGuest(t, testRedisStoreFromLua) }

func testRedisStoreFromLua(t *testing.T, guest string) {
	addr := redistest.Start(t)
	h := newHost(t, redisConfig(addr), host.WithDefaultGuest(guest))
	mem, err := runLua(t, h, sameOnBoth, "app:mem")
	require.NoError(t, err, mem)
	red, err := runLua(t, h, sameOnBoth, "app:redis")
	require.NoError(t, err, red)
	assert.Contains(t, mem, `"Alice" "b" 3 0.5`)
	assert.Contains(t, mem, `nil err(AlreadyExists,false,key "lock" already exists)`)
	// The memory store allows longer keys than app:redis's max_key_bytes, so that line differs.
	assert.Equal(t, replaceLine(mem, 2, `false err(Invalid,false,key is 65 bytes, longer than max_key_bytes 64)`), red)

	out, err := runLua(t, h, `local i = require("store").get("app:redis"):info() show(i.backend, i.consistency, i.durable, i.id)`)
	require.NoError(t, err)
	assert.Equal(t, "\"REDIS\" \"LINEARIZABLE\" false \"app:redis\"\n", out)

	s, _ := h.Store("app:redis")
	m, ok := s.Metrics()
	require.True(t, ok)
	assert.Greater(t, m.Ops, uint64(20))
	assert.Zero(t, m.Errors)
}

// replaceLine replaces line n (counted from the end, 1 is the last) with repl: the one
// line where two stores' configured limits differ.
func replaceLine(out string, n int, repl string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	lines[len(lines)-n] = repl
	return joinLines(lines)
}

// TestRedisDownIsUnavailable: a stopped server gives Lua a retryable Unavailable within
// the operation timeout; the next call after it comes back works, with no restart.
func TestRedisDownIsUnavailable(t *testing.T) { eachGuest(t, testRedisDownIsUnavailable) }

func testRedisDownIsUnavailable(t *testing.T, guest string) {
	srv := redistest.StartServer(t, redistest.Options{AppendOnly: true}) // so "before" survives the restart
	h := newHost(t, redisConfig(srv.Addr), host.WithDefaultGuest(guest))
	out, err := runLua(t, h, `show(require("store").get("app:redis"):set("k", "before"))`)
	require.NoError(t, err)
	require.Equal(t, "true\n", out)

	srv.Stop()
	start := time.Now()
	out, err = runLua(t, h, `local c = require("store").get("app:redis")
local ok, e = c:set("k", "during")
show(ok, e:kind(), e:retryable())
local v, e2 = c:get("k")
show(v, e2:kind())`)
	require.NoError(t, err)
	assert.Equal(t, "false \"Unavailable\" true\nnil \"Unavailable\"\n", out)
	assert.Less(t, time.Since(start), 5*time.Second, "two calls of op_timeout 500ms, plus the run")

	srv.Start()
	out, err = runLua(t, h, `show(require("store").get("app:redis"):get("k"))`)
	require.NoError(t, err)
	assert.Equal(t, "\"before\"\n", out)
}
