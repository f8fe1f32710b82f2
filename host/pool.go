package host

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wasmkv/wasmkv/abi"
)

// Pool defaults, per module.
const (
	DefaultPoolSize    = 4
	DefaultIdleTimeout = time.Minute
)

// recycleFraction: an instance whose linear memory passed this fraction of its limit is
// not reused. Wasm memory never shrinks, so such an instance would start the next run
// close to its limit.
const recycleFraction = 0.75

// pool keeps initialised instances of one module's sandbox, so that a run skips
// instantiating the guest and starting its Go runtime.
type pool struct {
	h           *Host
	sb          *sandbox
	module      string
	size        int
	idleTimeout time.Duration
	maxPages    uint32
	lua         bool // a Lua guest, which the snapshot warms up with an empty script

	mu   sync.Mutex
	idle []*pooled // most recently used last
}

// pooled is one initialised instance.
type pooled struct {
	mod            api.Module
	mem            experimental.LinearMemory // its memory, as our allocator made it
	globals        []api.MutableGlobal       // the snapshot variant's mutable globals
	snap           *poolSnapshot             // what it started from and goes back to; nil if cold
	scratch        []byte                    // the reset's page-map buffer
	written        [][2]int                  // the reset's runs of written pages (offset, length)
	run            api.Function              // the guest's run export, kept between runs
	stdout, stderr *switchWriter
	idleSince      time.Time
}

type poolKey struct {
	module string
	guest  *Guest
	pages  uint32
}

// poolFor returns the pool of a module's guest under a memory limit, making it on first use.
// lua says g is one of the host's Lua guests (not a guest of LoadGuest), whose snapshot is
// taken after a warm-up run.
func (h *Host) poolFor(ctx context.Context, module string, g *Guest, memory ByteSize, lua bool) (*pool, error) {
	sb, err := h.sandboxFor(ctx, g, memory, h.preemption(module))
	if err != nil {
		return nil, err
	}
	key := poolKey{module, g, memoryPages(memory)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.pools[key]; ok {
		return p, nil
	}
	mc := h.cfg.Modules[module]
	p := &pool{h: h, sb: sb, module: module, size: mc.PoolSize, idleTimeout: mc.IdleTimeout, maxPages: key.pages, lua: lua}
	if p.size == 0 {
		p.size = DefaultPoolSize
	}
	if p.idleTimeout == 0 {
		p.idleTimeout = DefaultIdleTimeout
	}
	h.pools[key] = p
	return p, nil
}

// take returns an idle instance, or a new one.
func (p *pool) take(ctx context.Context) (*pooled, error) {
	p.mu.Lock()
	// An instance idle past the timeout is closed, not reused.
	if expired := p.expireLocked(p.h.opts.clock.Now()); len(expired) > 0 {
		p.mu.Unlock()
		closeAll(expired)
		p.mu.Lock()
	}
	if n := len(p.idle); n > 0 {
		pi := p.idle[n-1]
		// Delete clears the slot it frees: a stale pointer in the backing array would keep
		// a closed instance's whole memory alive.
		p.idle = slices.Delete(p.idle, n-1, n)
		p.mu.Unlock()
		p.h.reused.Add(1)
		return pi, nil
	}
	p.mu.Unlock()
	return p.instantiate(ctx)
}

// runFunc is the instance's run export. It is looked up once: wazero makes a new call
// engine, with a new stack that then grows by copying, on every lookup.
func (pi *pooled) runFunc() api.Function {
	if pi.run == nil {
		pi.run = pi.mod.ExportedFunction(abi.ExportRun)
	}
	return pi.run
}

// PoolStats counts what the instance pools did.
type PoolStats struct {
	// Created counts instances made; Reused counts runs that took an idle instance.
	Created, Reused uint64
	// Discarded counts instances closed after a run that trapped, timed out, hit a
	// limit, or left the instance too big to keep.
	Discarded uint64
	// Recycled counts instances from a snapshot closed after a normal run because they
	// could not go back to it (their memory grew); the next run starts a new one.
	Recycled uint64
}

// PoolStats returns the host's pool counters so far.
func (h *Host) PoolStats() PoolStats {
	return PoolStats{Created: h.created.Load(), Reused: h.reused.Load(), Discarded: h.discarded.Load(), Recycled: h.recycled.Load()}
}

// instantiate makes an instance: from the pool's snapshot when there is one, else
// started cold (the snapshot variant with its data written by the host, or the guest
// as given), then _initialize.
func (p *pool) instantiate(ctx context.Context) (*pooled, error) {
	s, pi, err := p.snapshotFor(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case pi != nil:
	case s != nil:
		pi, err = p.fromSnapshot(ctx, s)
	case p.sb.variant != nil:
		pi, err = p.coldStart(ctx)
	default:
		var alloc *memoryAllocator
		pi, alloc = p.newPooled()
		pi.mod, err = p.sb.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), p.sb.guest,
			p.moduleConfig(pi).WithStartFunctions(abi.ExportInitialize))
		if err != nil {
			err = fmt.Errorf("host: instantiating guest: %w", err)
		}
		pi.mem = alloc.mem
	}
	if err != nil {
		return nil, err
	}
	p.h.created.Add(1)
	return pi, nil
}

// put returns an instance after a run; reusable is false for one that must be discarded.
func (p *pool) put(pi *pooled, reusable bool) {
	p.putAfter(pi, reusable, true)
}

// putAfter returns an instance; ran is false for a new instance that ran nothing yet.
// An instance from a snapshot goes back to it after each run; one that cannot (its
// memory grew) is recycled: closed, and the next run starts a new one from the snapshot.
func (p *pool) putAfter(pi *pooled, reusable, ran bool) {
	recycled := false
	switch {
	case !reusable:
	case pi.snap != nil && ran:
		if !pi.snap.resetInstance(pi, p.maxPages) {
			reusable, recycled = false, true
		}
	case memoryOf(pi.mod) != nil && float64(memoryOf(pi.mod).Size()/wasmPage) > recycleFraction*float64(p.maxPages):
		reusable = false
	}
	now := p.h.opts.clock.Now()
	p.mu.Lock()
	var drop []*pooled
	switch {
	case reusable && len(p.idle) < p.size:
		pi.idleSince = now
		p.idle = append(p.idle, pi)
	case !reusable:
		if recycled {
			p.h.recycled.Add(1)
		} else {
			p.h.discarded.Add(1)
		}
		fallthrough
	default:
		drop = append(drop, pi)
	}
	drop = append(drop, p.expireLocked(now)...)
	p.mu.Unlock()
	closeAll(drop)
}

// expireLocked removes the instances idle longer than the idle timeout.
func (p *pool) expireLocked(now time.Time) []*pooled {
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].idleSince) > p.idleTimeout {
		n++
	}
	expired := append([]*pooled(nil), p.idle[:n]...)
	p.idle = slices.Delete(p.idle, 0, n)
	return expired
}

// prewarm fills the pool up to n idle instances.
func (p *pool) prewarm(ctx context.Context, n int) error {
	for {
		p.mu.Lock()
		have := len(p.idle)
		p.mu.Unlock()
		if have >= min(n, p.size) {
			return nil
		}
		pi, err := p.instantiate(ctx)
		if err != nil {
			return err
		}
		p.putAfter(pi, true, false)
	}
}

// drain closes every idle instance.
func (p *pool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	closeAll(idle)
}

func closeAll(ps []*pooled) {
	for _, pi := range ps {
		pi.mod.Close(context.Background())
		if pi.snap != nil {
			pi.snap.release()
			pi.snap = nil
		}
	}
}

// Prewarm creates idle instances for a module ahead of its first runs: n of them, at most
// its pool size. A module's config can ask for this with prewarm.
func (h *Host) Prewarm(ctx context.Context, module string, n int) error {
	_, memory, _ := h.limits(&Script{Module: module})
	g, err := h.guestFor(module, "")
	if err != nil {
		return err
	}
	p, err := h.poolFor(ctx, module, g, memory, true)
	if err != nil {
		return err
	}
	return p.prewarm(ctx, n)
}

// Idle returns how many initialised instances a module has waiting.
func (h *Host) Idle(module string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for key, p := range h.pools {
		if key.module == module {
			p.mu.Lock()
			n += len(p.idle)
			p.mu.Unlock()
		}
	}
	return n
}

// switchWriter is an instance's stdout or stderr: each run points it at that run's
// writer, and between runs output is dropped.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	if w == nil {
		return len(p), nil
	}
	return w.Write(p)
}
