// Package host is the wazero side of wasmkv and its Go embedding API: it compiles the
// guest once, runs Lua scripts in fresh sandboxed instances, implements the host
// functions of package abi, and owns the store registry that the configuration builds,
// with every store action decided by the policy set before it reaches an engine.
package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/policy"
)

// Host runs guests against a set of stores. It is safe for concurrent use: runs in
// parallel each get their own instance and share the stores.
type Host struct {
	cfg      *Config
	opts     options
	rt       wazero.Runtime
	guest    wazero.CompiledModule
	stores   map[string]*Store
	policies *policy.Set
	log      *slog.Logger
	seq      atomic.Uint64
	counters sync.Map // module name -> *PolicyCounters
}

type options struct {
	clock    engine.Clock
	logger   *slog.Logger
	cacheDir string
	noCache  bool
	guest    []byte
}

// Option changes how [New] builds a host.
type Option func(*options)

// WithClock sets the clock of the memory stores, so TTL tests need not sleep.
func WithClock(c engine.Clock) Option { return func(o *options) { o.clock = c } }

// WithLogger sets where denials and guest failures are logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithCompilationCacheDir sets the directory of the on-disk compilation cache. The
// default is wasmkv/wazero under the user's cache directory; "" turns the cache off.
func WithCompilationCacheDir(dir string) Option {
	return func(o *options) { o.cacheDir, o.noCache = dir, dir == "" }
}

// WithGuest replaces the embedded Lua guest with another build of it.
func WithGuest(wasm []byte) Option { return func(o *options) { o.guest = wasm } }

// New compiles the guest and builds the stores of cfg. Close the host when done.
func New(ctx context.Context, cfg *Config, opts ...Option) (*Host, error) {
	if cfg == nil {
		return nil, configErrorf("no configuration")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := options{clock: engine.SystemClock(), logger: slog.Default(), guest: guestWasm}
	if dir, err := os.UserCacheDir(); err == nil {
		o.cacheDir = filepath.Join(dir, "wasmkv", "wazero")
	}
	for _, opt := range opts {
		opt(&o)
	}
	set, err := policy.Compile(cfg.Policies)
	if err != nil {
		return nil, configErrorf("%v", err)
	}
	h := &Host{cfg: cfg, opts: o, policies: set, log: o.logger, stores: map[string]*Store{}}
	for id, sc := range cfg.Stores {
		s, err := newStore(id, sc, o.clock)
		if err != nil {
			h.closeStores()
			return nil, err
		}
		h.stores[id] = s
	}
	if err := h.compile(ctx); err != nil {
		h.closeStores()
		return nil, err
	}
	return h, nil
}

// compile builds the runtime and compiles the guest once for this host. Termination
// checks are always on: Go in wasm has no preemption, so without them a guest stuck in
// a loop could not be stopped and would freeze the host at its next GC.
func (h *Host) compile(ctx context.Context) error {
	rc := wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true)
	if !h.opts.noCache && h.opts.cacheDir != "" {
		if cache, err := wazero.NewCompilationCacheWithDir(h.opts.cacheDir); err == nil {
			rc = rc.WithCompilationCache(cache)
		} else {
			h.log.Warn("compilation cache disabled", "dir", h.opts.cacheDir, "err", err)
		}
	}
	h.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.rt); err != nil {
		return fmt.Errorf("host: wasi: %w", err)
	}
	if err := instantiateHostModule(ctx, h.rt); err != nil {
		return err
	}
	cctx := experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0))
	compiled, err := h.rt.CompileModule(cctx, h.opts.guest)
	if err != nil {
		h.rt.Close(ctx)
		return fmt.Errorf("host: compiling guest: %w", err)
	}
	if err := checkGuest(compiled); err != nil {
		h.rt.Close(ctx)
		return err
	}
	h.guest = compiled
	return nil
}

// Close stops every store's background work and releases the runtime.
func (h *Host) Close(ctx context.Context) error {
	h.closeStores()
	if h.rt != nil {
		return h.rt.Close(ctx)
	}
	return nil
}

func (h *Host) closeStores() {
	for _, s := range h.stores {
		s.engine.Close()
	}
}

// Store returns the store with this id, for Go code that shares data with scripts.
// Go code is trusted: its calls are not subject to policies.
func (h *Host) Store(id string) (*Store, bool) {
	s, ok := h.stores[id]
	return s, ok
}

// PolicyCounters counts one module's policy decisions.
type PolicyCounters struct {
	Allowed atomic.Uint64
	Denied  atomic.Uint64
}

// Decisions returns the allow and deny counts of a module so far.
func (h *Host) Decisions(module string) (allowed, denied uint64) {
	if c, ok := h.counters.Load(module); ok {
		pc := c.(*PolicyCounters)
		return pc.Allowed.Load(), pc.Denied.Load()
	}
	return 0, 0
}

func (h *Host) countersFor(module string) *PolicyCounters {
	if c, ok := h.counters.Load(module); ok {
		return c.(*PolicyCounters)
	}
	c, _ := h.counters.LoadOrStore(module, new(PolicyCounters))
	return c.(*PolicyCounters)
}
