// Package serve is wasmkv's HTTP front end: it runs a Lua (or other guest) handler per
// request, as OpenResty's content_by_lua or Spin do, against stores that live as long as
// the server and are shared by every route. It is its own package because it owns what
// a one-shot run has no use for: routing, the request/response contract, back-pressure,
// reloads, draining and metrics. It reaches the sandbox only through package host.
//
// The handler contract, the same for every guest: the script's first argument is the
// request, a table with method, path, params (path parameters by name), query (each name
// to the list of its values, so ?a=1&a=2 gives query.a = {"1", "2"}), headers (lower-case
// names to a string; repeated headers joined with ", "), body and remote_addr. It
// returns a response table {status = 200, headers = {...}, body = "..."} (every field
// optional; a header's value a string or a list of strings) or a string (status 200,
// text/plain); nothing or nil answers 204. A script that returns nil, err answers with a
// status from the error's kind (Invalid 400, PermissionDenied 403, NotFound 404,
// AlreadyExists and Conflict 409, RateLimited 429, Unavailable 503, Timeout 504, any
// other 500) and a JSON body naming only the kind and the request id. A raised error, a
// bad response value or a stopped guest is a 500 with the request id, which the log
// carries with the reason; a run the module's timeout stopped is a 504.
package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmkv/wasmkv/host"
)

// Options configure a Server.
type Options struct {
	// Logger receives the access log, reload outcomes and run failures (default
	// slog.Default()).
	Logger *slog.Logger
	// HostOptions are passed to host.New for every configuration loaded.
	HostOptions []host.Option
}

// Server serves the routes of a configuration file. It is safe for concurrent use.
type Server struct {
	path     string
	opts     Options
	log      *slog.Logger
	cur      atomic.Pointer[generation]
	reloadMu sync.Mutex // one reload at a time
	limMu    sync.Mutex
	limiters map[string]*limiter // module -> its limiter, kept across reloads
	draining atomic.Bool
	metrics  *metrics
	idPrefix string
	seq      atomic.Uint64
	retiring sync.WaitGroup
}

// generation is one loaded configuration with its host. A request runs entirely on the
// generation it started on; a reload retires the old one once its requests are done.
type generation struct {
	l        *loaded
	h        *host.Host
	mux      *http.ServeMux
	active   atomic.Int64
	limiters map[string]*limiter
}

// New loads the configuration file and builds its host. A *ConfigError or
// *host.ConfigError means the file cannot be used.
func New(ctx context.Context, path string, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var id [4]byte
	_, _ = rand.Read(id[:])
	s := &Server{path: path, opts: opts, log: opts.Logger, limiters: map[string]*limiter{}, idPrefix: hex.EncodeToString(id[:])}
	s.metrics = newMetrics(s)
	l, err := load(path)
	if err != nil {
		return nil, err
	}
	h, err := host.New(ctx, l.cfg, s.hostOptions()...)
	if err != nil {
		return nil, err
	}
	g, err := s.build(ctx, l, h)
	if err != nil {
		h.Close(ctx)
		return nil, err
	}
	s.cur.Store(g)
	return s, nil
}

func (s *Server) hostOptions() []host.Option {
	return append([]host.Option{host.WithLogger(s.log), host.WithObserver(s.metrics)}, s.opts.HostOptions...)
}

// build makes the routing of a loaded configuration on its host.
func (s *Server) build(ctx context.Context, l *loaded, h *host.Host) (*generation, error) {
	g := &generation{l: l, h: h, mux: http.NewServeMux(), limiters: map[string]*limiter{}}
	guests := map[string]*host.Guest{} // by module bytes: routes that share a file compile it once
	for _, r := range l.routes {
		rh := &routeHandler{s: s, g: g, r: r}
		if r.conf.Wasm != "" {
			guest, ok := guests[string(r.source)]
			if !ok {
				var err error
				if guest, err = h.LoadGuest(ctx, r.source); err != nil {
					return nil, configErrorf("route %q: %s: %v", r.pattern, r.conf.Wasm, err)
				}
				guests[string(r.source)] = guest
			}
			rh.guest = guest
		}
		if _, ok := g.limiters[r.module]; !ok {
			mc := l.cfg.Modules[r.module]
			conc, queue := mc.MaxConcurrency, mc.MaxQueue
			if conc == 0 {
				conc = DefaultMaxConcurrency
			}
			if queue == 0 {
				queue = DefaultMaxQueue
			}
			// A module whose limits did not change keeps its limiter across a reload, so
			// old and new requests share one bound.
			s.limMu.Lock()
			lim := s.limiters[r.module]
			if lim == nil || lim.conc != conc || lim.maxQueue != int64(queue) {
				lim = newLimiter(conc, queue)
				s.limiters[r.module] = lim
			}
			s.limMu.Unlock()
			g.limiters[r.module] = lim
		}
		rh.lim = g.limiters[r.module]
		g.mux.Handle(r.pattern, rh)
	}
	return g, nil
}

// acquire returns the current generation, counted as in use until release.
func (s *Server) acquire() *generation {
	for {
		g := s.cur.Load()
		g.active.Add(1)
		// Once a reload has swapped g out it waits for g's count to reach zero; a request
		// that counted itself after that must not use g.
		if s.cur.Load() == g {
			return g
		}
		g.active.Add(-1)
	}
}

// ServeHTTP routes a request on the current configuration.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := s.acquire()
	defer g.active.Add(-1)
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	g.mux.ServeHTTP(sw, r)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.request(route, sw.status(), time.Since(start))
	s.log.Info("request", "method", r.Method, "path", r.URL.Path, "route", route, "status", sw.status(),
		"bytes", sw.bytes, "duration", time.Since(start), "remote", r.RemoteAddr, "request_id", sw.Header().Get("X-Request-Id"))
}

// Reload loads the configuration file again and swaps it in. An invalid file leaves the
// running configuration in place and returns the error. Requests in flight finish on
// the configuration they started on; stores whose definition did not change keep their
// data. Changes to the server section's listener settings (timeouts, header limit) take
// effect on restart only.
func (s *Server) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := s.reload(ctx)
	if err != nil {
		s.metrics.reloads.WithLabelValues("refused").Inc()
		s.log.Error("reload refused; the running configuration stays", "config", s.path, "err", err)
		return err
	}
	s.metrics.reloads.WithLabelValues("ok").Inc()
	s.log.Info("reloaded", "config", s.path)
	return nil
}

func (s *Server) reload(ctx context.Context) error {
	l, err := load(s.path)
	if err != nil {
		return err
	}
	old := s.cur.Load()
	h, err := old.h.Reload(ctx, l.cfg, s.hostOptions()...)
	if err != nil {
		return err
	}
	g, err := s.build(ctx, l, h)
	if err != nil {
		// The stores h took over from the running host stay open.
		h.Retire(ctx, old.h)
		return err
	}
	s.cur.Store(g)
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		waitIdle(old)
		s.metrics.retire(old, g)
		if err := old.h.Retire(context.Background(), h); err != nil {
			s.log.Warn("closing the previous configuration's host", "err", err)
		}
	}()
	return nil
}

// waitIdle waits until no request uses g. Runs are bounded by their timeouts and
// request bodies by the read timeout, so this ends.
func waitIdle(g *generation) {
	for g.active.Load() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
}

// Close waits for retired configurations and closes the current host. Call it after
// the HTTP servers have shut down.
func (s *Server) Close(ctx context.Context) error {
	s.retiring.Wait()
	g := s.cur.Load()
	waitIdle(g)
	return g.h.Close(ctx)
}

// Registry returns the server's metrics, for a caller that serves them itself.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// requestID returns a new id: the process's random prefix and a sequence number.
func (s *Server) requestID() string {
	return fmt.Sprintf("%s-%d", s.idPrefix, s.seq.Add(1))
}

// ListenAndServe serves the routes on ln and metrics and health checks on admin until
// ctx is done, then drains: it stops accepting, lets requests in flight finish for up
// to the configured shutdown_timeout, and closes the stores.
func (s *Server) ListenAndServe(ctx context.Context, ln, admin net.Listener) error {
	st := s.cur.Load().l.settings
	srv := &http.Server{
		Handler:           s,
		MaxHeaderBytes:    int(st.maxHeader),
		ReadHeaderTimeout: st.readHeader,
		ReadTimeout:       st.read,
		WriteTimeout:      st.write,
		IdleTimeout:       st.idle,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	adm := &http.Server{Handler: s.AdminHandler(), ReadHeaderTimeout: st.readHeader, IdleTimeout: st.idle}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- adm.Serve(admin) }()
	s.log.Info("serving", "listen", ln.Addr().String(), "admin", admin.Addr().String(), "config", s.path)
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	err := s.Drain(srv, st.shutdown)
	adm.Close()
	return errors.Join(serveErr, err, s.Close(context.Background()))
}

// Drain shuts srv down: readiness fails at once, new connections are refused, and
// requests in flight get up to timeout to finish. It returns an error when some did not.
func (s *Server) Drain(srv *http.Server, timeout time.Duration) error {
	s.draining.Store(true)
	s.log.Info("draining", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("serve: requests still running after shutdown_timeout (%v): %w", timeout, err)
	}
	return nil
}

// AdminHandler serves /metrics (Prometheus), /healthz (the process is up) and /readyz
// (it accepts requests: not draining).
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
