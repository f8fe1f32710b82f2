package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmkv/wasmkv/serve"
)

// ServeResult is one load run against an HTTP handler.
type ServeResult struct {
	Concurrency int
	Requests    int
	Errors      int // transport errors and non-2xx answers
	Elapsed     time.Duration
	P50, P99    time.Duration
}

// ReqPerSec is the throughput of the run.
func (r ServeResult) ReqPerSec() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// LoadHTTP sends GET url from c workers over keep-alive connections until n requests are
// done or max has passed, whichever comes first, and times each request.
func LoadHTTP(url string, c, n int, max time.Duration) ServeResult {
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next, errs atomic.Int64
	lat := make([][]time.Duration, c)
	deadline := time.Now().Add(max)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && time.Now().Before(deadline) {
				t0 := time.Now()
				answered, ok := get(client, url)
				if !ok {
					errs.Add(1)
				}
				if answered { // a request that failed to go through has no latency
					lat[w] = append(lat[w], time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	r := ServeResult{Concurrency: c, Elapsed: time.Since(start), Errors: int(errs.Load())}
	all := slices.Concat(lat...)
	r.Requests = len(all)
	r.P50, r.P99 = Percentile(all, 50), Percentile(all, 99)
	return r
}

// Session is what the session handlers keep per id.
type Session struct {
	User string `json:"user"`
}

// GoSessionHandler is the floor: the session handler of examples/serve written in plain
// Go with net/http and a map. GET /sessions/{id} reads the session, bumps its hit
// counter and answers JSON, as handlers/session.lua does.
func GoSessionHandler(sessions map[string]Session) http.Handler {
	var mu sync.Mutex
	hits := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		mu.Lock()
		s, ok := sessions["session:"+id]
		if ok {
			hits["hits:"+id]++
		}
		n := hits["hits:"+id]
		mu.Unlock()
		if !ok {
			http.Error(w, `{"error":"NotFound"}`, http.StatusNotFound)
			return
		}
		b, _ := json.Marshal(map[string]any{"id": id, "user": s.User, "hits": n})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	return mux
}

// Listen serves h on a loopback port and returns its base URL and a stop function.
func Listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// ReloadsUnderLoad runs c workers against url while it calls reload n times, and counts
// the requests that were not answered 2xx: a reload must lose none.
func ReloadsUnderLoad(url string, c, n int, reload func() error) (requests, lost int, err error) {
	var stop atomic.Bool
	var total, bad atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				total.Add(1)
				if _, ok := get(http.DefaultClient, url); !ok {
					bad.Add(1)
				}
			}
		}()
	}
	for i := 0; i < n && err == nil; i++ {
		before := total.Load()
		err = reload()
		// Let requests run on the new configuration before the next reload.
		for deadline := time.Now().Add(10 * time.Second); total.Load() < before+5 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	return int(total.Load()), int(bad.Load()), err
}

// StartSessionServe runs wasmkv serve on the example configuration (examples/serve) on a
// loopback port, with session s1 created, and returns its base URL and a stop function.
func StartSessionServe(ctx context.Context, root string) (string, *serve.Server, func(), error) {
	s, err := serve.New(ctx, filepath.Join(root, "examples", "serve", "wasmkv.yaml"),
		serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return "", nil, nil, err
	}
	base, stop, err := listenWithSession(ctx, s)
	if err != nil {
		return "", nil, nil, err
	}
	return base, s, stop, nil
}

// GuestsConfig serves the session handler through each Lua guest, one module per guest,
// with one handler both guests run unchanged, writing its small JSON object by hand (the
// example's handler, which uses the json module, runs on gopher-lua beside it). PUT /sessions/{id} (the example's, on gopher-lua)
// creates a session both read, as the store is shared.
const GuestsConfig = `
stores:
  sessions: {kind: memory, max_size: 100000}
policies:
  - {name: web, effect: allow, modules: ["web.*"], resources: ["sessions"]}
modules:
  web.gopher: {timeout: 2s, pool_size: 8, prewarm: 2, guest: gopher-lua}
  web.puc: {timeout: 2s, pool_size: 8, prewarm: 2, guest: puc-lua}
routes:
  - {method: PUT, path: "/sessions/{id}", module: web.gopher, script: session_put.lua}
  - {method: GET, path: "/gopher-lua/sessions/{id}", module: web.gopher, script: session_plain.lua}
  - {method: GET, path: "/puc-lua/sessions/{id}", module: web.puc, script: session_plain.lua}
`

// SessionPlain is the session handler without the json module.
const SessionPlain = `local store = require("store")
local req = ...
local sessions = assert(store.get("sessions"))
local id = req.params.id
local s, err = sessions:get("session:" .. id)
if s == nil then
  return nil, err
end
local hits = assert(sessions:incr("hits:" .. id, 1))
local function q(v) return '"' .. string.gsub(v, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"' end
return {
  status = 200,
  headers = {["content-type"] = "application/json"},
  body = "{" .. '"id":' .. q(id) .. ',"user":' .. q(s.user) .. ',"hits":' .. string.format("%d", hits) .. "}",
}
`

// StartGuestsServe runs GuestsConfig in dir (a temporary directory) with the example's
// PUT handler, and creates session s1. Its routes are /<guest>/sessions/{id}.
func StartGuestsServe(ctx context.Context, root, dir string) (string, func(), error) {
	put, err := os.ReadFile(filepath.Join(root, "examples", "serve", "handlers", "session_put.lua"))
	if err != nil {
		return "", nil, err
	}
	for name, b := range map[string][]byte{"wasmkv.yaml": []byte(GuestsConfig), "session_plain.lua": []byte(SessionPlain), "session_put.lua": put} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", nil, err
		}
	}
	s, err := serve.New(ctx, filepath.Join(dir, "wasmkv.yaml"), serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return "", nil, err
	}
	return listenWithSession(ctx, s)
}

// listenWithSession serves s on a loopback port and creates session s1 (PUT
// /sessions/s1). Its stop function stops serving and closes s; on an error s is closed.
func listenWithSession(ctx context.Context, s *serve.Server) (string, func(), error) {
	base, stop, err := Listen(s)
	if err != nil {
		s.Close(ctx)
		return "", nil, err
	}
	req, _ := http.NewRequest("PUT", base+"/sessions/s1", strings.NewReader(`{"user":"ada"}`))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			err = fmt.Errorf("creating the session: status %d", resp.StatusCode)
		}
	}
	if err != nil {
		stop()
		s.Close(ctx)
		return "", nil, err
	}
	return base, func() { stop(); s.Close(ctx) }, nil
}

// get GETs url and reads the whole answer: answered is false when the request failed
// (no response), ok whether the answer was a 2xx.
func get(client *http.Client, url string) (answered, ok bool) {
	resp, err := client.Get(url)
	if err != nil {
		return false, false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return true, resp.StatusCode/100 == 2
}
