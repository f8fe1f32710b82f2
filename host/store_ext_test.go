package host_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

// TestExtendedAPI covers entry, put, incr, list and info as Lua in the guest, on the
// injected clock.
func TestExtendedAPI(t *testing.T) { eachGuest(t, testExtendedAPI) }

func testExtendedAPI(t *testing.T, guest string) {
	h, clock := newClockHost(t, host.WithDefaultGuest(guest))
	step := func(t *testing.T, src string, want ...string) {
		t.Helper()
		mustRun(t, h, `local store = require("store")
local c = store.get("app:cache")
local function ent(e, err)
  if not e then return show(e, err) end
  show(e.key, e.value, type(e.version), e.ttl)
end
`+src, want...)
	}

	t.Run("entry", func(t *testing.T) {
		step(t, `ent(c:entry("e:missing"))
c:set("e:1", "v", 10)
ent(c:entry("e:1"))
c:set("e:2", {1, 2})
local e = c:entry("e:2")
show(e.value[2], e.ttl)`,
			`nil err(NotFound,false,key "e:missing" not found)`,
			`"e:1" "v" "string" 10`,
			`2 nil`)
		clock.Advance(2500 * time.Millisecond)
		step(t, `ent(c:entry("e:1"))`, `"e:1" "v" "string" 7.5`)
	})
	t.Run("versions change on every write and never come back", func(t *testing.T) {
		step(t, `c:set("v:1", 1)
local a = c:entry("v:1").version
c:set("v:1", 1)
local b = c:entry("v:1").version
c:delete("v:1")
c:set("v:1", 1)
local d = c:entry("v:1").version
show(a ~= b, b ~= d, a ~= d)
show(c:put("v:1", 2, {if_version = a}))`,
			`true true true`,
			`nil err(Conflict,true,key "v:1" does not have the expected version)`)
	})
	t.Run("put", func(t *testing.T) {
		step(t, `ent(c:put("p:1", "first"))
ent(c:put("p:1", "again", {only_if_absent = true}))
show(c:get("p:1"))
ent(c:put("p:2", "new", {only_if_absent = true, ttl = 1}))
local e = c:entry("p:1")
local e2 = c:put("p:1", "cas", {if_version = e.version})
show(e2.value, e2.version ~= e.version)
ent(c:put("p:1", "stale", {if_version = e.version}))
ent(c:put("p:nope", "x", {if_version = e2.version}))
ent(c:put("p:1", "x", {if_version = "not-a-version"}))
ent(c:put("p:1", "x", {only_if_absent = true, if_version = e2.version}))
ent(c:put("p:1", nil))
ent(c:put("p:1", "x", {ttl = -1}))
show(c:get("p:1"))
show(pcall(c.put, c, "p:1", "x", "opts"))
show(pcall(c.put, c, "p:1", "x", {only_if_absent = "yes"}))
show(pcall(c.put, c, "p:1", "x", {if_version = 3}))`,
			`"p:1" "first" "string" nil`,
			`nil err(AlreadyExists,false,key "p:1" already exists)`,
			`"first"`,
			`"p:2" "new" "string" 1`,
			`"cas" true`,
			`nil err(Conflict,true,key "p:1" does not have the expected version)`,
			`nil err(Conflict,true,key "p:nope" does not have the expected version)`,
			`nil err(Conflict,true,key "p:1" does not have the expected version)`,
			`nil err(Invalid,false,only_if_absent and if_version cannot be used together)`,
			`nil err(Invalid,false,value is required)`,
			`nil err(Invalid,false,ttl must not be negative)`,
			`"cas"`,
			`false "bad argument #3 to 'put' (table expected, got string)"`,
			byGuest(guest, `false " bad option 'only_if_absent' to 'put' (boolean expected, got string)"`, `false "bad option 'only_if_absent' to 'put' (boolean expected, got string)"`),
			byGuest(guest, `false " bad option 'if_version' to 'put' (string expected, got number)"`, `false "bad option 'if_version' to 'put' (string expected, got number)"`))
		clock.Advance(time.Second)
		// an expired key is absent
		step(t, `ent(c:put("p:2", "newer", {only_if_absent = true}))`, `"p:2" "newer" "string" nil`)
	})
	t.Run("incr", func(t *testing.T) {
		step(t, `show(c:incr("i:1"))
show(c:incr("i:1", 5))
show(c:incr("i:1", -10))
show(c:incr("i:1", 0.5))
show(c:incr("i:1", "2"))
c:set("i:s", "str")
show(c:incr("i:s"))
show(c:get("i:s"))
show(c:incr("i:t", 1, {ttl = 2}))
show(c:incr("i:t", 1, {ttl = 100}))
show(c:entry("i:t").ttl)
show(c:incr("i:1", 0/0))
show(pcall(c.incr, c, "i:1", {}))`,
			`1`, `6`, `-4`, `-3.5`, `-1.5`,
			`nil err(Invalid,false,value of key "i:s" is not a number)`,
			`"str"`,
			`1`, `2`, `2`,
			`nil err(Invalid,false,delta must be a finite number)`,
			`false "bad argument #2 to 'incr' (number expected, got table)"`)
		clock.Advance(2 * time.Second)
		step(t, `show(c:incr("i:t", 1, {ttl = 5}))
show(c:entry("i:t").ttl)`, `1`, `5`)
	})
	t.Run("list", func(t *testing.T) {
		step(t, `for _, k in ipairs({"l:b", "l:a", "l:c", "l:d", "m:x", "l:\255", "l:e"}) do c:set(k, k) end
c:set("l:exp", 1, 1)
local function keys(p)
  local ks = {}
  for _, it in ipairs(p.items) do ks[#ks + 1] = it.key end
  return table.concat(ks, ","), p.has_more, p.cursor
end
show(keys(c:list({prefix = "l:", limit = 3})))
local p = c:list({prefix = "l:", limit = 3})
show(keys(c:list({prefix = "l:", limit = 3, after = p.cursor})))
show(keys(c:list({prefix = "l:", after = "l:e"})))
show(keys(c:list({prefix = "m:"})))
show(keys(c:list({prefix = "zzz"})))
local all = c:list()
show(#all.items >= 8, all.items[1].value ~= nil)
show(c:list({limit = 1001}))
show(c:list({limit = 0}))
show(c:list({limit = 1.5}))
show(pcall(c.list, c, {prefix = 1}))`,
			`"l:a,l:b,l:c" true "l:c"`,
			`"l:d,l:e,l:exp" true "l:exp"`,
			byGuest(guest, `"l:exp,l:\xff" false "l:\xff"`, "\"l:exp,l:\xff\" false \"l:\xff\""),
			`"m:x" false "m:x"`,
			`"" false ""`,
			`true true`,
			`nil err(Invalid,false,limit 1001 is out of range (an integer from 1 to 1000))`,
			`nil err(Invalid,false,limit 0 is out of range (an integer from 1 to 1000))`,
			`nil err(Invalid,false,limit 1.5 is out of range (an integer from 1 to 1000))`,
			byGuest(guest, `false " bad option 'prefix' to 'list' (string expected, got number)"`, `false "bad option 'prefix' to 'list' (string expected, got number)"`))
		clock.Advance(time.Second)
		// an expired key neither appears nor makes has_more true
		step(t, `local p = c:list({prefix = "l:", after = "l:d", limit = 2})
show(#p.items, p.items[1].key, p.items[2].key, p.has_more)
p = c:list({prefix = "l:", after = "l:d", limit = 1})
show(p.items[1].key, p.has_more)
p = c:list({prefix = "l:e"})
show(#p.items, p.has_more)`,
			byGuest(guest, `2 "l:e" "l:\xff" false`, "2 \"l:e\" \"l:\xff\" false"),
			`"l:e" true`,
			`1 false`)
	})
	t.Run("info", func(t *testing.T) {
		step(t, `local i = c:info()
show(i.id, i.backend, i.consistency, i.durable, i.list, i.versioned, i.conditional_put, i.ttl)
show(i.backend == store.backend.MEMORY, store.consistency.LINEARIZABLE, store.backend.REDIS, store.backend.SQL, store.backend.UNKNOWN)
show(store.consistency.EVENTUAL, store.consistency.LOCAL, store.consistency.UNKNOWN)`,
			`"app:cache" "MEMORY" "LINEARIZABLE" false true true true true`,
			`true "LINEARIZABLE" "REDIS" "SQL" "UNKNOWN"`,
			`"EVENTUAL" "LOCAL" "UNKNOWN"`)
	})
	t.Run("released store", func(t *testing.T) {
		step(t, `c:release()
show(c:entry("k"))
show(c:put("k", 1))
show(c:incr("k"))
show(c:list())
show(c:info())`,
			`nil err(Invalid,false,store is released)`,
			`nil err(Invalid,false,store is released)`,
			`nil err(Invalid,false,store is released)`,
			`nil err(Invalid,false,store is released)`,
			`nil err(Invalid,false,store is released)`)
	})
}

// TestLockExample runs examples/lock.lua: a module takes a lock, a second module fails
// to take it, and the lock's TTL releases it, on the injected clock.
func TestLockExample(t *testing.T) { eachGuest(t, testLockExample) }

func testLockExample(t *testing.T, guest string) {
	h, clock := newClockHost(t, host.WithDefaultGuest(guest))
	src := readExample(t, "lock.lua")
	run := func(module string) string {
		var out safeBuffer
		err := h.Run(context.Background(), host.Script{Module: module, Name: "lock.lua", Source: src, Args: []string{"report-42", module}, Stdout: &out, Timeout: 30 * time.Second})
		if err != nil {
			return out.String() + "error: " + err.Error()
		}
		return out.String()
	}
	assert.Equal(t, "worker-a holds lock:report-42\n", run("worker-a"))
	assert.Equal(t, "error: Conflict: lock:report-42 is held by worker-a", run("worker-b"))
	clock.Advance(4999 * time.Millisecond)
	assert.Equal(t, "error: Conflict: lock:report-42 is held by worker-a", run("worker-b"))
	clock.Advance(time.Millisecond)
	assert.Equal(t, "worker-b holds lock:report-42\n", run("worker-b"))
}

// TestConcurrentIncrAndCAS: goroutines run several instances at once; every incr and
// every compare-and-set loop must count exactly once.
func TestConcurrentIncrAndCAS(t *testing.T) { eachGuest(t, testConcurrentIncrAndCAS) }

func testConcurrentIncrAndCAS(t *testing.T, guest string) {
	h, _ := newClockHost(t, host.WithDefaultGuest(guest))
	const goroutines, runsEach, opsPerRun = 4, 2, 125 // 1000 incr and 1000 CAS in all
	script := fmt.Sprintf(`
local c = require("store").get("app:cache")
for i = 1, %d do
  assert(c:incr("race:incr"))
  while true do
    local e = c:entry("race:cas")
    local v = e and e.value or 0
    local opts = e and {if_version = e.version} or {only_if_absent = true}
    local ok, err = c:put("race:cas", v + 1, opts)
    if ok then break end
    assert(err:kind() == errors.CONFLICT or err:kind() == errors.ALREADY_EXISTS, tostring(err))
  end
end`, opsPerRun)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*runsEach)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < runsEach; r++ {
				_, err := runLuaAs(t, h, "racer", script)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	s, _ := h.Store("app:cache")
	var incr, cas int64
	_, err := s.Get(context.Background(), "race:incr", &incr)
	require.NoError(t, err)
	_, err = s.Get(context.Background(), "race:cas", &cas)
	require.NoError(t, err)
	assert.Equal(t, int64(goroutines*runsEach*opsPerRun), incr)
	assert.Equal(t, int64(goroutines*runsEach*opsPerRun), cas)
}

// TestPagingWhileWriting lists 10k keys in pages of 7 while Go code inserts and deletes
// keys outside the listed range: no key is repeated or missed.
func TestPagingWhileWriting(t *testing.T) { eachGuest(t, testPagingWhileWriting) }

func testPagingWhileWriting(t *testing.T, guest string) {
	cfg := "stores:\n  app:big: {kind: memory, max_size: 100000}\npolicies:\n  - {name: all, effect: allow}\n"
	h := newHost(t, cfg, host.WithDefaultGuest(guest))
	s, _ := h.Store("app:big")
	ctx := context.Background()
	for i := 0; i < 10000; i++ {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("page:%05d", i), i, 0))
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for _, p := range []string{"pag", "page;", "pagd:"} { // sort before, after and beside page:
				k := fmt.Sprintf("%s%d", p, i%50)
				_ = s.Set(ctx, k, i, 0)
				_, _ = s.Delete(ctx, fmt.Sprintf("%s%d", p, (i+25)%50))
			}
		}
	}()
	var stdout safeBuffer
	err := h.Run(context.Background(), host.Script{Module: "test", Name: "paging.lua", Stdout: &stdout, Timeout: 3 * time.Minute, Source: []byte(`
local c = require("store").get("app:big")
local seen, n, pages, after = {}, 0, 0, nil
while true do
  local p = assert(c:list({prefix = "page:", after = after, limit = 7}))
  pages = pages + 1
  for _, it in ipairs(p.items) do
    assert(not seen[it.key], "repeated " .. it.key)
    assert(it.value == tonumber(it.key:sub(6)), "wrong value for " .. it.key)
    seen[it.key] = true
    n = n + 1
  end
  if not p.has_more then break end
  after = p.cursor
end
print(n, pages)`)})
	out := stdout.String()
	close(stop)
	<-done
	require.NoError(t, err)
	assert.Equal(t, "10000\t1429\n", out)
}
