package serve

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// Defaults of the server section and of a module's back-pressure limits.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultMaxConcurrency    = 16
	DefaultMaxQueue          = 64
)

// Upper bounds that catch a misplaced digit in the config. A body reaches the guest inside
// its task and may come back in its result, which travels in a request to the host: the
// ABI's request limit bounds it.
const (
	maxBodyLimit   = abi.MaxRequestBytes / 2
	maxHeaderLimit = 16 << 20
	maxConcurrency = 10000
	maxQueue       = 100000
)

// ConfigError is a configuration serve cannot use; the CLI exits 2 on it.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return "serve: config: " + e.Msg }

func configErrorf(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// settings is the server section with its defaults applied.
type settings struct {
	maxBody, maxHeader                      int64
	readHeader, read, write, idle, shutdown time.Duration
}

// route is one configured route, with its script read.
type route struct {
	conf    host.RouteConfig
	pattern string   // the ServeMux pattern: "GET /sessions/{id}"
	params  []string // the wildcard names of the path
	name    string   // the chunk name: the script's path as configured
	source  []byte   // the Lua source, or the wasm module
	module  string
	timeout time.Duration
	// queueWait bounds a request's wait for a run slot: two run timeouts, long enough for
	// the run ahead to end even when it uses its whole timeout, and never so long that
	// the wait and the run together outlast the server's write timeout.
	queueWait time.Duration
}

// loaded is a configuration file, parsed, checked, and with its scripts read.
type loaded struct {
	cfg      *host.Config
	settings settings
	routes   []*route
}

var (
	methodRE   = regexp.MustCompile(`^[A-Z]+$`)
	wildcardRE = regexp.MustCompile(`\{([^}]*)\}`)
)

// load reads and checks a configuration file. Every problem is a *ConfigError or a
// *host.ConfigError, so that a bad file never starts (or replaces) a server.
func load(path string) (*loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, configErrorf("%v", err)
	}
	cfg, err := host.ParseConfig(data)
	if err != nil {
		return nil, err
	}
	l := &loaded{cfg: cfg}
	if l.settings, err = checkServer(cfg.Server); err != nil {
		return nil, err
	}
	for name, m := range cfg.Modules {
		if m.MaxConcurrency < 0 || m.MaxConcurrency > maxConcurrency {
			return nil, configErrorf("module %q: max_concurrency must be between 0 (the default, %d) and %d", name, DefaultMaxConcurrency, maxConcurrency)
		}
		if m.MaxQueue < 0 || m.MaxQueue > maxQueue {
			return nil, configErrorf("module %q: max_queue must be between 0 (the default, %d) and %d", name, DefaultMaxQueue, maxQueue)
		}
	}
	if len(cfg.Routes) == 0 {
		return nil, configErrorf("routes: none configured; serve needs at least one")
	}
	dir := filepath.Dir(path)
	seen := map[string]int{}
	mux := http.NewServeMux()
	for i, rc := range cfg.Routes {
		r, err := checkRoute(i, rc, dir, cfg)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[r.pattern]; dup {
			return nil, configErrorf("routes[%d]: %q duplicates routes[%d]", i, r.pattern, j)
		}
		seen[r.pattern] = i
		// ServeMux panics on a pattern it cannot parse or one that conflicts with
		// another (two patterns that match the same requests with neither more specific).
		if err := register(mux, r.pattern); err != nil {
			return nil, configErrorf("routes[%d]: %v", i, err)
		}
		if r.timeout >= l.settings.write {
			return nil, configErrorf("routes[%d]: module %q's timeout (%v) must be shorter than server.write_timeout (%v), or its responses would be cut off", i, r.module, r.timeout, l.settings.write)
		}
		r.queueWait = min(2*r.timeout, l.settings.write-r.timeout)
		l.routes = append(l.routes, r)
	}
	return l, nil
}

func register(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) {})
	return nil
}

func checkRoute(i int, rc host.RouteConfig, dir string, cfg *host.Config) (*route, error) {
	where := fmt.Sprintf("routes[%d]", i)
	if rc.Method != "" && !methodRE.MatchString(rc.Method) {
		return nil, configErrorf("%s: method %q is not an upper-case HTTP method", where, rc.Method)
	}
	if !strings.HasPrefix(rc.Path, "/") {
		return nil, configErrorf("%s: path %q must start with /", where, rc.Path)
	}
	if strings.ContainsAny(rc.Path, " \t") {
		return nil, configErrorf("%s: path %q contains white space", where, rc.Path)
	}
	if rc.Module == "" {
		return nil, configErrorf("%s: module is required (the policy actor of the route's runs)", where)
	}
	file := rc.Script
	switch {
	case rc.Script != "" && rc.Wasm != "":
		return nil, configErrorf("%s: give script or wasm, not both", where)
	case rc.Script == "" && rc.Wasm == "":
		return nil, configErrorf("%s: script or wasm is required", where)
	case rc.Wasm != "":
		file = rc.Wasm
	}
	full := file
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, file)
	}
	src, err := os.ReadFile(full)
	if err != nil {
		return nil, configErrorf("%s: %v", where, err)
	}
	r := &route{conf: rc, name: file, source: src, module: rc.Module, pattern: rc.Path}
	if rc.Method != "" {
		r.pattern = rc.Method + " " + rc.Path
	}
	for _, m := range wildcardRE.FindAllStringSubmatch(rc.Path, -1) {
		name := strings.TrimSuffix(m[1], "...")
		if name != "$" {
			r.params = append(r.params, name)
		}
	}
	r.timeout = cfg.Modules[rc.Module].Timeout
	if r.timeout == 0 {
		r.timeout = host.DefaultTimeout
	}
	return r, nil
}

func checkServer(sc host.ServerConfig) (settings, error) {
	s := settings{
		maxBody: int64(sc.MaxBodyBytes), maxHeader: int64(sc.MaxHeaderBytes),
		readHeader: sc.ReadHeaderTimeout, read: sc.ReadTimeout, write: sc.WriteTimeout,
		idle: sc.IdleTimeout, shutdown: sc.ShutdownTimeout,
	}
	if s.maxBody < 0 || s.maxBody > maxBodyLimit {
		return s, configErrorf("server: max_body_bytes must be between 0 (the default, %v) and %v", host.ByteSize(DefaultMaxBodyBytes), host.ByteSize(maxBodyLimit))
	}
	if s.maxHeader < 0 || s.maxHeader > maxHeaderLimit {
		return s, configErrorf("server: max_header_bytes must be between 0 (the default, %v) and %v", host.ByteSize(DefaultMaxHeaderBytes), host.ByteSize(maxHeaderLimit))
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"read_header_timeout", &s.readHeader, DefaultReadHeaderTimeout},
		{"read_timeout", &s.read, DefaultReadTimeout},
		{"write_timeout", &s.write, DefaultWriteTimeout},
		{"idle_timeout", &s.idle, DefaultIdleTimeout},
		{"shutdown_timeout", &s.shutdown, DefaultShutdownTimeout},
	} {
		if *d.v < 0 {
			return s, configErrorf("server: %s must not be negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxHeader == 0 {
		s.maxHeader = DefaultMaxHeaderBytes
	}
	return s, nil
}
