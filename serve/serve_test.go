package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

const contractConfig = `
stores:
  app: {kind: memory}
policies:
  - {name: t, effect: allow, modules: ["t.*"], resources: ["app"]}
  - {name: no-set, effect: deny, modules: ["t.store"], actions: ["store.key.set"], keys: ["ro:*"]}
modules:
  t.slow: {timeout: 1s, max_concurrency: 1, max_queue: 1}
server:
  max_body_bytes: 1KiB
  max_header_bytes: 4KiB
routes:
  - {method: POST, path: "/echo/{id}/x/{rest...}", module: t.echo, script: echo.lua}
  - {method: GET, path: "/fail/{kind}", module: t.fail, script: fail.lua}
  - {method: GET, path: "/ret/{what}", module: t.ret, script: ret.lua}
  - {method: GET, path: "/slow", module: t.slow, script: slow.lua}
  - {method: GET, path: "/store", module: t.store, script: store.lua}
`

var contractHandlers = map[string]string{
	"echo.lua": `local json = require("json"); local req = ...; return {status = 201,
		headers = {["content-type"] = "application/json", ["x-multi"] = {"a", "b"}},
		body = json.encode(req)}`,
	"fail.lua": `local req = ...
		if req.query.raise then error(errors.new(req.params.kind, "secret internal detail")) end
		return nil, errors.new(req.params.kind, "secret internal detail")`,
	"ret.lua": `local req = ...; local w = req.params.what
		if w == "string" then return "plain text" end
		if w == "nothing" then return end
		if w == "bad-status" then return {status = 99} end
		if w == "function" then return print end
		if w == "bad-header" then return {headers = {["x-a"] = "a\r\nset-cookie: evil"}} end
		if w == "framing" then return {headers = {["content-length"] = "5"}, body = "hi"} end
		if w == "unknown-field" then return {stauts = 200} end
		if w == "raise-string" then error("boom at a secret place") end
		return {status = 418, body = "teapot"}`,
	"slow.lua": `while true do end`,
	"store.lua": `local app = assert(require("store").get("app"))
		local ok, err = app:set("ro:x", 1); assert(not ok and err:kind() == "PermissionDenied")
		return tostring(assert(app:incr("n", 1)))`,
}

func TestRoutingAndRequestTable(t *testing.T) {
	_, ts, _ := start(t, files(t, contractConfig, contractHandlers))
	a := do(t, "POST", ts.URL+"/echo/42/x/a/b?q=1&q=2&z=", `{"hello":1}`, "X-Custom", "v1", "X-Custom", "v2")
	require.Equal(t, 201, a.code, a.body)
	assert.Equal(t, []string{"a", "b"}, a.header.Values("X-Multi"))
	assert.NotEmpty(t, a.header.Get("X-Request-Id"))
	var req struct {
		Method     string              `json:"method"`
		Path       string              `json:"path"`
		Params     map[string]string   `json:"params"`
		Query      map[string][]string `json:"query"`
		Headers    map[string]string   `json:"headers"`
		Body       string              `json:"body"`
		RemoteAddr string              `json:"remote_addr"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &req), a.body)
	assert.Equal(t, "POST", req.Method)
	assert.Equal(t, "/echo/42/x/a/b", req.Path)
	assert.Equal(t, map[string]string{"id": "42", "rest": "a/b"}, req.Params)
	assert.Equal(t, []string{"1", "2"}, req.Query["q"], "repeated keys are kept, in order")
	assert.Equal(t, []string{""}, req.Query["z"])
	assert.Equal(t, "v1, v2", req.Headers["x-custom"], "names are lower-case; repeats joined")
	assert.NotEmpty(t, req.Headers["host"])
	assert.Equal(t, `{"hello":1}`, req.Body)
	assert.Contains(t, req.RemoteAddr, "127.0.0.1:")

	assert.Equal(t, 404, do(t, "GET", ts.URL+"/nowhere", "").code)
	assert.Equal(t, 405, do(t, "GET", ts.URL+"/echo/1/x/y", "").code)
}

func TestStatusMapping(t *testing.T) {
	_, ts, logs := start(t, files(t, contractConfig, contractHandlers))
	for kind, code := range map[string]int{
		"Invalid": 400, "PermissionDenied": 403, "NotFound": 404, "AlreadyExists": 409,
		"Conflict": 409, "RateLimited": 429, "Unavailable": 503, "Timeout": 504,
		"Internal": 500, "Canceled": 500, "Unknown": 500,
	} {
		a := do(t, "GET", ts.URL+"/fail/"+kind, "")
		assert.Equal(t, code, a.code, kind)
		assert.NotContains(t, a.body, "secret", "the body leaks no internals")
		assert.Contains(t, a.body, a.header.Get("X-Request-Id"))
		if code == 429 || code == 503 {
			assert.Equal(t, "1", a.header.Get("Retry-After"), kind)
		}
	}
	// A raised error is a 500 whatever its kind, with the id the log carries.
	a := do(t, "GET", ts.URL+"/fail/NotFound?raise=1", "")
	assert.Equal(t, 500, a.code)
	assert.NotContains(t, a.body, "secret")
	id := a.header.Get("X-Request-Id")
	assert.Contains(t, a.body, id)
	assert.Contains(t, logs.String(), "request_id="+id)
	assert.Contains(t, logs.String(), "secret internal detail", "the log has the reason")

	for what, want := range map[string]int{
		"string": 200, "nothing": 204, "table": 418, "bad-status": 500, "function": 500,
		"bad-header": 500, "framing": 500, "unknown-field": 500, "raise-string": 500,
	} {
		a := do(t, "GET", ts.URL+"/ret/"+what, "")
		assert.Equal(t, want, a.code, what)
		assert.NotContains(t, a.body, "secret", what)
		assert.Empty(t, a.header.Get("Set-Cookie"), what)
	}
	assert.Equal(t, "plain text", do(t, "GET", ts.URL+"/ret/string", "").body)
	assert.Equal(t, "teapot", do(t, "GET", ts.URL+"/ret/table", "").body)

	// The module's timeout stops the run: 504.
	assert.Equal(t, 504, do(t, "GET", ts.URL+"/slow", "").code)
}

func TestBodyAndHeaderLimits(t *testing.T) {
	_, ts, _ := start(t, files(t, contractConfig, contractHandlers))
	assert.Equal(t, 201, do(t, "POST", ts.URL+"/echo/1/x/y", strings.Repeat("a", 1000)).code)
	assert.Equal(t, 413, do(t, "POST", ts.URL+"/echo/1/x/y", strings.Repeat("a", 1025)).code)
	// Without a Content-Length the limit is enforced while reading.
	req, _ := http.NewRequest("POST", ts.URL+"/echo/1/x/y", struct{ *strings.Reader }{strings.NewReader(strings.Repeat("a", 5000))})
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode)
	// net/http allows 4 KiB of slack over MaxHeaderBytes.
	assert.Equal(t, 431, do(t, "POST", ts.URL+"/echo/1/x/y", "", "X-Big", strings.Repeat("h", 10000)).code)
}

// A module at max_concurrency queues up to max_queue requests and refuses the rest at
// once with 503 and Retry-After; the others keep their own limits.
func TestConcurrencyLimit(t *testing.T) {
	s, ts, _ := start(t, files(t, contractConfig, contractHandlers))
	lim := s.cur.Load().limiters["t.slow"]
	codes := make(chan int, 2)
	go func() { codes <- do(t, "GET", ts.URL+"/slow", "").code }()
	waitFor(t, "the first run to hold the slot", func() bool { return len(lim.slots) == 1 })
	go func() { codes <- do(t, "GET", ts.URL+"/slow", "").code }()
	waitFor(t, "the second to queue", func() bool { return lim.queued.Load() == 1 })
	a := do(t, "GET", ts.URL+"/slow", "")
	assert.Equal(t, 503, a.code)
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	// Another module is not held up by this one.
	assert.Equal(t, 200, do(t, "GET", ts.URL+"/ret/string", "").code)
	for range 2 {
		assert.Equal(t, 504, <-codes)
	}
}

// The two-call scenario: one request writes three keys, a later one reads them.
func TestPersistAcrossRequests(t *testing.T) {
	_, ts, _ := start(t, filepath.Join("..", "examples", "serve", "wasmkv.yaml"))
	assert.Equal(t, 404, do(t, "GET", ts.URL+"/kv", "").code)
	assert.Equal(t, 201, do(t, "POST", ts.URL+"/kv", "").code)
	a := do(t, "GET", ts.URL+"/kv", "")
	assert.Equal(t, 200, a.code)
	assert.JSONEq(t, `[{"name":"Ada"},{"name":"Grace"},2]`, a.body)

	assert.Equal(t, 404, do(t, "GET", ts.URL+"/sessions/s1", "").code)
	assert.Equal(t, 400, do(t, "PUT", ts.URL+"/sessions/s1", "not json").code)
	assert.Equal(t, 201, do(t, "PUT", ts.URL+"/sessions/s1", `{"user":"ada"}`).code)
	for i := 1; i <= 3; i++ {
		a := do(t, "GET", ts.URL+"/sessions/s1", "")
		assert.JSONEq(t, fmt.Sprintf(`{"id":"s1","user":"ada","hits":%d}`, i), a.body)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := map[string]string{"h.lua": "return 'x'"}
	for name, c := range map[string]struct{ cfg, want string }{
		"unknown field":    {"routes:\n  - {method: GET, path: /a, module: m, script: h.lua, scirpt: x}\n", "scirpt"},
		"duplicate":        {"routes:\n  - {method: GET, path: /a, module: m, script: h.lua}\n  - {method: GET, path: /a, module: m, script: h.lua}\n", "duplicates"},
		"conflict":         {"routes:\n  - {method: GET, path: '/a/{x}', module: m, script: h.lua}\n  - {method: GET, path: '/a/{y}', module: m, script: h.lua}\n", "conflicts"},
		"missing script":   {"routes:\n  - {method: GET, path: /a, module: m, script: nope.lua}\n", "nope.lua"},
		"no script":        {"routes:\n  - {method: GET, path: /a, module: m}\n", "script or wasm"},
		"both":             {"routes:\n  - {method: GET, path: /a, module: m, script: h.lua, wasm: h.lua}\n", "not both"},
		"no module":        {"routes:\n  - {method: GET, path: /a, script: h.lua}\n", "module is required"},
		"bad method":       {"routes:\n  - {method: get, path: /a, module: m, script: h.lua}\n", "upper-case"},
		"bad path":         {"routes:\n  - {method: GET, path: a, module: m, script: h.lua}\n", "start with /"},
		"no routes":        {"stores: {}\n", "none configured"},
		"concurrency":      {"modules:\n  m: {max_concurrency: -1}\nroutes:\n  - {path: /a, module: m, script: h.lua}\n", "max_concurrency"},
		"queue":            {"modules:\n  m: {max_queue: 1000000}\nroutes:\n  - {path: /a, module: m, script: h.lua}\n", "max_queue"},
		"body":             {"server: {max_body_bytes: 9MiB}\nroutes:\n  - {path: /a, module: m, script: h.lua}\n", "max_body_bytes"},
		"negative timeout": {"server: {read_timeout: -1s}\nroutes:\n  - {path: /a, module: m, script: h.lua}\n", "read_timeout"},
		"write vs timeout": {"server: {write_timeout: 1s}\nmodules:\n  m: {timeout: 2s}\nroutes:\n  - {path: /a, module: m, script: h.lua}\n", "write_timeout"},
		"unknown server":   {"server: {max_bodee: 1}\nroutes:\n  - {path: /a, module: m, script: h.lua}\n", "max_bodee"},
	} {
		_, err := New(context.Background(), files(t, c.cfg, ok), Options{})
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
		var ce *ConfigError
		var hce *host.ConfigError
		assert.True(t, errors.As(err, &ce) || errors.As(err, &hce), "%s: %T is a config error", name, err)
	}
}

const reloadConfig = `
stores:
  sessions: {kind: memory}
  scratch: {kind: memory, max_size: %d}
policies:
  - {name: t, effect: allow, resources: ["sessions", "scratch"]}
modules:
  web.session: {pool_size: %d}
routes:
  - {method: GET, path: "/sessions/{id}", module: web.session, script: handlers/session.lua}
  - {method: PUT, path: "/sessions/{id}", module: web.session, script: handlers/session_put.lua}
`

// Ten reloads under a running load loop lose no request: every response is 2xx, and
// the unchanged store keeps its data (the hit counter never restarts).
func TestReloadUnderLoad(t *testing.T) {
	handlers := map[string]string{}
	for _, n := range []string{"session.lua", "session_put.lua"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "serve", "handlers", n))
		require.NoError(t, err)
		handlers["handlers/"+n] = string(b)
	}
	path := files(t, fmt.Sprintf(reloadConfig, 100, 4), handlers)
	s, ts, logs := start(t, path)
	require.Equal(t, 201, do(t, "PUT", ts.URL+"/sessions/s1", `{"user":"ada"}`).code)

	var stop atomic.Bool
	var total atomic.Int64
	var wg sync.WaitGroup
	bad := make(chan string, 100)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0.0
			for !stop.Load() {
				resp, err := http.Get(ts.URL + "/sessions/s1")
				if err != nil {
					bad <- err.Error()
					return
				}
				var v struct{ Hits float64 }
				err = json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
				total.Add(1)
				if resp.StatusCode/100 != 2 || err != nil || v.Hits <= last {
					bad <- fmt.Sprintf("status %d, hits %v after %v, %v", resp.StatusCode, v.Hits, last, err)
					return
				}
				last = v.Hits
			}
		}()
	}
	for i := range 10 {
		// Alternate a changed store and module, so each reload builds a new host.
		require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(reloadConfig, 100+i%2, 4+i%2)), 0o644))
		n := total.Load()
		require.NoError(t, s.Reload(context.Background()))
		waitFor(t, "requests after the reload", func() bool { return total.Load() >= n+5 || len(bad) > 0 })
	}
	// An invalid config is refused, and the old one keeps serving.
	require.NoError(t, os.WriteFile(path, []byte("routes: [{path: /x, module: m, script: gone.lua}]"), 0o644))
	require.Error(t, s.Reload(context.Background()))
	n := total.Load()
	waitFor(t, "requests after the refused reload", func() bool { return total.Load() >= n+5 || len(bad) > 0 })
	stop.Store(true)
	wg.Wait()
	close(bad)
	for b := range bad {
		t.Error(b)
	}
	assert.Contains(t, logs.String(), "reload refused")
	t.Logf("%d requests across 10 reloads", total.Load())
}

const hostileConfig = `
stores:
  app: {kind: memory}
policies:
  - {name: good, effect: allow, modules: ["good"], resources: ["app"]}
modules:
  good: {timeout: 5s}
  bad.loop: {timeout: 300ms, max_concurrency: 2, max_queue: 2}
  bad.memory: {timeout: 2s, memory_limit: 32MiB, max_concurrency: 2, max_queue: 2}
  bad.denials: {timeout: 2s, max_concurrency: 2, max_queue: 2}
routes:
  - {method: GET, path: /good, module: good, script: good.lua}
  - {method: GET, path: /loop, module: bad.loop, script: loop.lua}
  - {method: GET, path: /memory, module: bad.memory, script: memory.lua}
  - {method: GET, path: /denials, module: bad.denials, script: denials.lua}
`

// Hostile handlers (an endless loop, a memory bomb, a flood of denials), each hammered
// beyond its limits, do not cost the good route a single error: each is held to its own
// slots, queue, timeout and memory.
func TestHostileHandlersDoNotHurtOthers(t *testing.T) {
	s, ts, _ := start(t, files(t, hostileConfig, map[string]string{
		"good.lua": `local store = require("store"); local app = assert(store.get("app"))
			local n = assert(app:incr("n", 1)); return tostring(n)`,
		"loop.lua":   `while true do end`,
		"memory.lua": `local t = {}; local s = string.rep("x", 1024); for i = 1, 1e9 do t[i] = s .. i end`,
		"denials.lua": `local store = require("store")
			for i = 1, 200000 do local s, err = store.get("app"); assert(s == nil) end
			return "done"`,
	}))
	var stop atomic.Bool
	var wg sync.WaitGroup
	hostile := map[string]*atomic.Int64{}
	for _, path := range []string{"/loop", "/memory", "/denials"} {
		hostile[path] = new(atomic.Int64)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					resp, err := http.Get(ts.URL + path)
					if err == nil {
						resp.Body.Close()
						hostile[path].Add(1)
					}
				}
			}()
		}
	}
	waitFor(t, "the hostile routes to be busy", func() bool {
		g := s.cur.Load()
		return len(g.limiters["bad.loop"].slots) > 0 && len(g.limiters["bad.memory"].slots) > 0
	})
	var good []int
	for range 40 {
		good = append(good, do(t, "GET", ts.URL+"/good", "").code)
	}
	stop.Store(true)
	wg.Wait()
	for i, code := range good {
		assert.Equal(t, 200, code, "good request %d", i)
	}
	for path, n := range hostile {
		assert.Positive(t, n.Load(), path)
	}
	a := do(t, "GET", ts.URL+"/good", "")
	assert.Equal(t, "41", a.body, "every good request ran exactly once")
}

// Draining lets a request in flight finish, then refuses new connections.
func TestDrain(t *testing.T) {
	path := files(t, `
routes:
  - {method: GET, path: /work, module: w, script: work.lua}
`, map[string]string{"work.lua": `local n = 0; for i = 1, 2e5 do n = n + i end; return tostring(n)`})
	s, err := New(context.Background(), path, Options{Logger: discard()})
	require.NoError(t, err)
	srv := &http.Server{Handler: s}
	ln := listen(t)
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String() + "/work"
	done := make(chan answer, 1)
	go func() { done <- do(t, "GET", url, "") }()
	lim := s.cur.Load().limiters["w"]
	waitFor(t, "the request to run", func() bool { return len(lim.slots) == 1 })
	require.NoError(t, s.Drain(srv, 30*time.Second))
	a := <-done
	assert.Equal(t, 200, a.code)
	assert.Equal(t, "20000100000", a.body)
	_, err = http.Get(url)
	assert.Error(t, err, "a drained server accepts no connection")
	require.NoError(t, s.Close(context.Background()))
}

// /metrics, /healthz and /readyz on the admin handler.
func TestAdmin(t *testing.T) {
	s, ts, _ := start(t, files(t, contractConfig, contractHandlers))
	do(t, "GET", ts.URL+"/ret/string", "")
	do(t, "GET", ts.URL+"/fail/NotFound", "")
	assert.Equal(t, 200, do(t, "GET", ts.URL+"/store", "").code)
	admin := httptest.NewServer(s.AdminHandler())
	defer admin.Close()
	assert.Equal(t, 200, do(t, "GET", admin.URL+"/healthz", "").code)
	assert.Equal(t, 200, do(t, "GET", admin.URL+"/readyz", "").code)
	m := do(t, "GET", admin.URL+"/metrics", "").body
	for _, want := range []string{
		`wasmkv_http_requests_total{route="GET /ret/{what}",status="200"} 1`,
		`wasmkv_http_requests_total{route="GET /fail/{kind}",status="404"} 1`,
		`wasmkv_http_request_duration_seconds_count{route="GET /ret/{what}"} 1`,
		`wasmkv_runs_total{module="t.ret",outcome="ok"} 1`,
		`wasmkv_runs_total{module="t.fail",outcome="returned_error"} 1`,
		`wasmkv_policy_decisions_total{action="store.get",decision="allow",module="t.store"} 1`,
		`wasmkv_policy_decisions_total{action="store.key.set",decision="deny",module="t.store"} 1`,
		`wasmkv_store_ops_total{op="set",outcome="PermissionDenied",store="app"} 1`,
		`wasmkv_store_ops_total{op="incr",outcome="ok",store="app"} 1`,
		`wasmkv_instances_created_total `,
		`wasmkv_pool_idle_instances{module="t.ret"} 1`,
	} {
		assert.Contains(t, m, want)
	}
	s.draining.Store(true)
	assert.Equal(t, 503, do(t, "GET", admin.URL+"/readyz", "").code)
}

// A wasm: route runs a guest built against the ABI in another language, under the same
// contract; the Go SDK plugin predates results, so its success answers 204.
func TestWasmRoute(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "examples", "plugin-go", "plugin.wasm"))
	if err != nil {
		t.Skip("examples/plugin-go/plugin.wasm is not built (make plugins)")
	}
	_, ts, _ := start(t, files(t, `
stores:
  app:cache: {kind: memory}
policies:
  - {name: p, effect: allow, modules: ["plug"], resources: ["app:cache"]}
routes:
  - {method: POST, path: /visit, module: plug, wasm: plugin.wasm}
  - {method: POST, path: /denied, module: other, wasm: plugin.wasm}
`, map[string]string{"plugin.wasm": string(wasm)}))
	assert.Equal(t, 204, do(t, "POST", ts.URL+"/visit", "").code)
	// Its error (permission denied on the store) is reported as raised: no result came back.
	assert.Equal(t, 500, do(t, "POST", ts.URL+"/denied", "").code)
}

// A client that sends its headers too slowly is cut off at read_header_timeout.
func TestSlowClientCutOff(t *testing.T) {
	path := files(t, "server: {read_header_timeout: 200ms}\nroutes:\n  - {path: /a, module: m, script: h.lua}\n",
		map[string]string{"h.lua": "return 'x'"})
	s, err := New(context.Background(), path, Options{Logger: discard()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ln, adm := listen(t), listen(t)
	served := make(chan error, 1)
	go func() { served <- s.ListenAndServe(ctx, ln, adm) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /a HTTP/1.1\r\nHost: x\r\n"))
	require.NoError(t, err)
	// The server closes the connection; the client's own deadline is only a backstop.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the server should have closed the connection: %v", err)
	cancel()
	require.NoError(t, <-served)
}

// A reload refused late (a wasm route that does not compile, found after the new host took
// over the stores) leaves the running configuration and its stores working.
func TestReloadRefusedKeepsStores(t *testing.T) {
	handlers := map[string]string{"junk.wasm": "not wasm"}
	for _, n := range []string{"session.lua", "session_put.lua"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "serve", "handlers", n))
		require.NoError(t, err)
		handlers["handlers/"+n] = string(b)
	}
	cfg := fmt.Sprintf(reloadConfig, 100, 4)
	path := files(t, cfg, handlers)
	s, ts, _ := start(t, path)
	require.Equal(t, 201, do(t, "PUT", ts.URL+"/sessions/s1", `{"user":"ada"}`).code)
	require.NoError(t, os.WriteFile(path, []byte(cfg+"  - {method: GET, path: /junk, module: j, wasm: junk.wasm}\n"), 0o644))
	err := s.Reload(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "junk.wasm")
	a := do(t, "GET", ts.URL+"/sessions/s1", "")
	assert.Equal(t, 200, a.code)
	assert.JSONEq(t, `{"id":"s1","user":"ada","hits":1}`, a.body)
	assert.Equal(t, 404, do(t, "GET", ts.URL+"/junk", "").code)
}

// A request that outlasts shutdown_timeout is cut off, and Drain says so.
func TestDrainTimeout(t *testing.T) {
	s, err := New(context.Background(), files(t, contractConfig, contractHandlers), Options{Logger: discard()})
	require.NoError(t, err)
	srv := &http.Server{Handler: s}
	ln := listen(t)
	go srv.Serve(ln)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	lim := s.cur.Load().limiters["t.slow"]
	waitFor(t, "the request to run", func() bool { return len(lim.slots) == 1 })
	err = s.Drain(srv, 50*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shutdown_timeout")
	assert.Error(t, <-done, "the cut-off request gets no answer")
	require.NoError(t, s.Close(context.Background()))
}

// The same handler contract holds on the PUC Lua guest (which has no json module).
func TestPucLuaGuest(t *testing.T) {
	_, ts, _ := start(t, files(t, `
stores:
  app: {kind: memory}
policies:
  - {name: p, effect: allow, modules: ["c.*"], resources: ["app"]}
modules:
  c.h: {guest: puc-lua}
routes:
  - {method: POST, path: "/c/{id}", module: c.h, script: h.lua}
`, map[string]string{"h.lua": `local req = ...
		if req.query.fail then return nil, errors.new(req.query.fail[1], "secret") end
		if req.query.raise then error("secret") end
		local app = assert(require("store").get("app"))
		local n = assert(app:incr("n:" .. req.params.id, 1))
		return {status = 201, headers = {["x-n"] = tostring(n)},
			body = req.method .. " " .. req.params.id .. " " .. req.body .. " " .. req.headers["x-a"]}`}))
	a := do(t, "POST", ts.URL+"/c/7", "hi", "X-A", "b")
	require.Equal(t, 201, a.code, a.body)
	assert.Equal(t, "POST 7 hi b", a.body)
	assert.Equal(t, "1", a.header.Get("X-N"))
	assert.Equal(t, "2", do(t, "POST", ts.URL+"/c/7", "hi", "X-A", "b").header.Get("X-N"))
	assert.Equal(t, 404, do(t, "POST", ts.URL+"/c/7?fail=NotFound", "").code)
	assert.Equal(t, 409, do(t, "POST", ts.URL+"/c/7?fail=Conflict", "").code)
	a = do(t, "POST", ts.URL+"/c/7?raise=1", "")
	assert.Equal(t, 500, a.code)
	assert.NotContains(t, a.body, "secret")
}
