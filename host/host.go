// Package host is the wazero side of wasmkv and its Go embedding API: it compiles the
// guest once, runs Lua scripts in fresh sandboxed instances, implements the host
// functions of package abi, and owns the store registry that the configuration builds,
// with every store action decided by the policy set before it reaches an engine.
package host

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"

	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/policy"
)

// Host runs guests against a set of stores. It is safe for concurrent use: runs in
// parallel each get their own instance and share the stores.
type Host struct {
	cfg                        *Config
	opts                       options
	cache                      wazero.CompilationCache
	mu                         sync.Mutex
	lua                        *Guest
	sandbox                    map[sandboxKey]*sandbox
	compiling                  map[sandboxKey]*compileCall
	closed                     bool
	pools                      map[poolKey]*pool
	stores                     map[string]*Store
	policies                   *policy.Set
	log                        *slog.Logger
	logBucket                  *logBucket    // bounds the log lines guests can cause (denylog.go)
	unloggedDenials            atomic.Uint64 // denials of runs whose summary found no token
	seq                        atomic.Uint64
	created, reused, discarded atomic.Uint64
	recycled                   atomic.Uint64
	counters                   sync.Map // module name -> *PolicyCounters
}

type options struct {
	clock    engine.Clock
	logger   *slog.Logger
	cacheDir string
	noCache  bool
	guest    []byte
	interp   bool
	memory   ByteSize
	preempt  Preemption
	snapshot snapshotOptions
	// defaultGuest is the Lua guest of modules whose config names none.
	defaultGuest string
	// compileHook, when set, is called before each compile; tests use it to hold one.
	compileHook func(ctx context.Context)
	observer    Observer
}

// sandbox is the guest compiled for one memory limit: wazero applies the limit when it
// compiles, so each limit in use needs its own runtime and compiled module.
type sandbox struct {
	rt      wazero.Runtime
	guest   wazero.CompiledModule
	variant *variant // how guest differs from the module given, when it is its snapshot variant
	snapshotState
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

// WithInterpreter runs guests on wazero's interpreter instead of its compiler. It is
// much slower; it exists to check that both engines behave the same.
func WithInterpreter() Option { return func(o *options) { o.interp = true } }

// WithMemoryLimit sets the memory limit of modules whose config sets none (default
// DefaultMemoryLimit).
func WithMemoryLimit(b ByteSize) Option { return func(o *options) { o.memory = b } }

// New compiles the guest and builds the stores of cfg. Close the host when done.
func New(ctx context.Context, cfg *Config, opts ...Option) (*Host, error) {
	h, err := newHost(cfg, opts)
	if err != nil {
		return nil, err
	}
	// Compile the default guest for the default limit now, so a bad guest fails New, not
	// the first run.
	g, err := h.guestFor("", "")
	if err == nil {
		_, err = h.sandboxFor(ctx, g, h.opts.memory, h.opts.preempt)
	}
	if err != nil {
		h.Close(ctx)
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Modules)) {
		if n := cfg.Modules[name].Prewarm; n > 0 {
			if err := h.Prewarm(ctx, name, n); err != nil {
				h.Close(ctx)
				return nil, err
			}
		}
	}
	return h, nil
}

// newHost builds the stores and policies of cfg; guests are compiled on first use.
func newHost(cfg *Config, opts []Option) (*Host, error) {
	if cfg == nil {
		return nil, configErrorf("no configuration")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := options{clock: engine.SystemClock(), logger: slog.Default(), memory: DefaultMemoryLimit, preempt: PreemptCountdown,
		snapshot: defaultSnapshotOptions()}
	if dir, err := os.UserCacheDir(); err == nil {
		o.cacheDir = filepath.Join(dir, "wasmkv", "wazero")
	}
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkGuestName(o.defaultGuest); err != nil {
		return nil, configErrorf("%v", err)
	}
	if err := CheckModuleLimit("memory_limit", int64(o.memory)); err != nil {
		return nil, err
	}
	if err := o.preempt.validate(); err != nil && o.preempt != preemptNone {
		return nil, configErrorf("%v", err)
	}
	set, err := policy.Compile(cfg.Policies)
	if err != nil {
		return nil, configErrorf("%v", err)
	}
	h := &Host{cfg: cfg, opts: o, policies: set, log: o.logger, stores: map[string]*Store{}, sandbox: map[sandboxKey]*sandbox{},
		compiling: map[sandboxKey]*compileCall{}, pools: map[poolKey]*pool{}}
	h.logBucket = newLogBucket(o.clock)
	h.lua = embeddedLua()
	if o.guest != nil {
		h.lua = &Guest{wasm: o.guest}
	}
	for id, sc := range cfg.Stores {
		s, err := newStore(id, sc, o.clock)
		if err != nil {
			h.closeStores()
			return nil, err
		}
		h.stores[id] = s
	}
	if !o.noCache && o.cacheDir != "" {
		if cache, err := sharedCache(o.cacheDir); err == nil {
			h.cache = cache
		} else {
			h.log.Warn("compilation cache disabled", "dir", o.cacheDir, "err", err)
		}
	}
	return h, nil
}

// caches holds one compilation cache per directory for the whole process. wazero keeps
// compiled code in the cache object, so hosts that share it compile a guest once per
// process; the directory makes that once per machine.
var caches sync.Map // dir -> wazero.CompilationCache

func sharedCache(dir string) (wazero.CompilationCache, error) {
	if c, ok := caches.Load(dir); ok {
		return c.(wazero.CompilationCache), nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, err
	}
	actual, _ := caches.LoadOrStore(dir, c)
	return actual.(wazero.CompilationCache), nil
}

// Guest is a guest module a host can run: the embedded Lua guest, or any module built
// against package abi (see LoadGuest).
type Guest struct {
	wasm []byte

	mu       sync.Mutex
	prepared map[Preemption]prepared // what to compile, per preemption (see prepare)
}

// LoadGuest compiles a guest module, written in any language against package abi, and
// checks its imports and exports. Run it with Script.Guest.
func (h *Host) LoadGuest(ctx context.Context, wasm []byte) (*Guest, error) {
	g := &Guest{wasm: bytes.Clone(wasm)}
	if _, err := h.sandboxFor(ctx, g, h.opts.memory, h.opts.preempt); err != nil {
		return nil, err
	}
	return g, nil
}

// Close stops every store's background work and releases the runtimes.
func (h *Host) Close(ctx context.Context) error {
	h.closeStores()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, c := range h.compiling {
		c.cancel() // the compile closes its runtime when it ends
	}
	for key, p := range h.pools {
		p.drain()
		delete(h.pools, key)
	}
	var err error
	for key, sb := range h.sandbox {
		err = errors.Join(err, sb.rt.Close(ctx))
		sb.closeSnapshot()
		delete(h.sandbox, key)
	}
	return err
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
