package host

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wasmkv/wasmkv/abi"
)

// A pool starts its instances from a snapshot of one warmed-up instance (Wizer's idea,
// with Wasmtime's copy-on-write memory images): the guest's Go runtime, Lua VM and
// environment are built once per pool, not once per instance, and instances share the
// pages they never write. See docs/decisions.md, "Instances from a snapshot".

// imageMode is how an instance's memory gets the snapshot's bytes.
type imageMode uint8

const (
	// imageMapped maps the image file copy-on-write (Linux).
	imageMapped imageMode = iota
	// imageCopied copies the bytes (elsewhere; selectable for tests).
	imageCopied
)

// resetMode is how an instance goes back to the snapshot after a run.
type resetMode uint8

const (
	// resetCopy copies the snapshot's bytes back over the memory: the pages stay the
	// instance's own, so the next run pays no page faults.
	resetCopy resetMode = iota
	// resetRemap maps the image again over the memory: the written pages are freed and
	// shared again, and the next run faults in what it writes.
	resetRemap
	// resetRecycle closes the instance after every run; the next run starts a new one.
	resetRecycle
	// resetWritten copies the snapshot back over only the pages the instance ever wrote
	// (they are private copies of the mapped image; the kernel's page map tells which):
	// the cost follows the instance's working set, not its memory size, and pages it
	// never wrote stay shared.
	resetWritten
)

// image is linear memory as the snapshot took it.
type image struct {
	mem []byte
	fd  int // the image file, -1 when there is none
}

// load gives a fresh reservation the image's bytes.
func (img *image) load(buf []byte, mode imageMode) error {
	if len(img.mem) == 0 {
		return nil
	}
	if mode == imageMapped && img.fd >= 0 {
		return mapImage(buf, img.fd, len(img.mem))
	}
	copy(buf, img.mem)
	return nil
}

// poolSnapshot is what instances start from.
type poolSnapshot struct {
	img     image
	pages   uint32   // memory size at the snapshot, in pages
	globals []uint64 // values of the variant's exported mutable globals, in order
	mode    imageMode
	reset   resetMode

	// hot are the pages (offset, length) that a run wrote, learnt from the first reset:
	// new instances take them as their own when they are made, not in their first run.
	hotMu sync.Mutex
	hot   [][2]int
	known bool

	// The image file and its view live while an instance may still map or reset from
	// them: until the host closed and the last instance from this snapshot is closed.
	lifeMu sync.Mutex
	refs   int
	closed bool
}

// acquire counts a new instance of the snapshot; false once the host closed it.
func (s *poolSnapshot) acquire() bool {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed {
		return false
	}
	s.refs++
	return true
}

// release is an instance of the snapshot closed.
func (s *poolSnapshot) release() {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.refs--; s.closed && s.refs == 0 {
		s.free()
	}
}

// close is the host closing; the image goes with the last instance.
func (s *poolSnapshot) close() {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if !s.closed {
		s.closed = true
		if s.refs == 0 {
			s.free()
		}
	}
}

func (s *poolSnapshot) free() {
	if s.img.fd >= 0 {
		closeImageFile(s.img.fd)
		releaseView(s.img.mem)
		s.img.fd, s.img.mem = -1, nil
	}
}

// learnHot records the pages a run wrote, once.
func (s *poolSnapshot) learnHot(written [][2]int) {
	s.hotMu.Lock()
	defer s.hotMu.Unlock()
	if !s.known {
		s.hot, s.known = slices.Clone(written), true
	}
}

func (s *poolSnapshot) hotPages() [][2]int {
	s.hotMu.Lock()
	defer s.hotMu.Unlock()
	return s.hot
}

// closeSnapshot is the host closing: the image file and its view are freed once no
// instance of the snapshot is left (runs still going may reset from them).
func (st *snapshotState) closeSnapshot() {
	st.snapMu.Lock()
	defer st.snapMu.Unlock()
	if st.snap != nil {
		st.snap.close()
	}
}

// snapshotOptions are the host's choices of image and reset mode (tests pick others).
type snapshotOptions struct {
	off   bool
	mode  imageMode
	reset resetMode
}

// defaultSnapshotOptions: map where the system can and copy back the written pages;
// elsewhere copy.
func defaultSnapshotOptions() snapshotOptions {
	o := snapshotOptions{mode: imageCopied, reset: resetCopy}
	if canMapImages {
		o.mode, o.reset = imageMapped, resetWritten
	}
	return o
}

// snapshotFor returns the snapshot of the pool's guest and memory limit, taking it on
// first use (by whichever module runs first: the snapshot holds nothing of a module's); nil when the guest
// cannot be snapshotted, whose instances then start cold. An error is a guest that
// could not even start (its _initialize failed). When it took the snapshot, it also
// returns the instance it took it from, ready to serve as a new one.
func (p *pool) snapshotFor(ctx context.Context) (*poolSnapshot, *pooled, error) {
	sb := p.sb
	sb.snapMu.Lock()
	defer sb.snapMu.Unlock()
	if sb.snapTried || sb.variant == nil || p.h.opts.snapshot.off {
		return sb.snap, nil, nil
	}
	// The caller's bound applies (a guest whose _initialize never returns must not hold
	// the run forever), and the default timeout on top.
	sctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	s, first, err := p.takeSnapshot(sctx)
	var warm *warmUpError
	if ctx.Err() != nil && !errors.As(err, &warm) {
		// The caller gave up, not the guest: a later run tries again.
		if first != nil {
			first.mod.Close(context.Background())
		}
		return nil, nil, ctx.Err()
	}
	sb.snapTried = true
	switch {
	case errors.As(err, &warm):
		p.h.log.Warn("instances start without a snapshot", "module", p.module, "err", err)
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	sb.snap = s
	return s, first, nil
}

// warmUpTimeout bounds the warm-up run (an empty script: about 10 ms for the gopher-lua
// guest, far more under the race detector on a loaded machine).
const warmUpTimeout = 2 * time.Second

// warmUpActor is the policy actor of the warm-up run: no module's, and an empty script
// makes no store calls.
const warmUpActor = "(warm-up)"

// warmUpError is a warm-up run that failed: the guest then runs without a snapshot.
type warmUpError struct{ err error }

func (e *warmUpError) Error() string { return "warm-up run: " + e.err.Error() }

// takeSnapshot starts an instance cold, warms it up, and captures its memory and
// mutable globals. The instance it warmed up is at the snapshot already: it is returned
// as the first instance (nil when it cannot be).
func (p *pool) takeSnapshot(ctx context.Context) (*poolSnapshot, *pooled, error) {
	pi, err := p.coldStart(ctx)
	if err != nil {
		return nil, nil, err
	}
	keep := false
	defer func() {
		if !keep {
			pi.mod.Close(ctx)
		}
	}()
	if p.lua {
		// The warm-up is bounded on its own, apart from the caller: an empty script takes
		// milliseconds, and a guest that spins in it is not snapshotted.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), warmUpTimeout)
		err := p.warmUp(wctx, pi.mod)
		cancel()
		if err != nil {
			return nil, nil, &warmUpError{err}
		}
	}
	o := p.h.opts.snapshot
	s := &poolSnapshot{img: image{fd: -1}, mode: o.mode, reset: o.reset}
	var view []byte
	if mem := memoryOf(pi.mod); mem != nil {
		view, _ = mem.Read(0, mem.Size())
		s.pages = mem.Size() / wasmPage
	}
	for _, g := range pi.globals {
		s.globals = append(s.globals, g.Get())
	}
	if s.mode == imageMapped {
		if fd, fileView, err := imageFile(view); err != nil {
			s.mode = imageCopied
		} else {
			// The image's bytes are read from the file's pages from now on: the same
			// physical pages the instances map, rather than a second copy in the heap.
			s.img.fd, s.img.mem = fd, fileView
		}
	}
	if s.mode == imageCopied {
		s.img.mem = bytes.Clone(view)
	}
	if s.mode == imageMapped {
		// Mapped like any other instance, its own copy of the pages is freed.
		rm, ok := pi.mem.(*reservedMemory)
		if !ok || mapImage(rm.buf, s.img.fd, len(s.img.mem)) != nil {
			return s, nil, nil
		}
	}
	if !s.acquire() {
		return s, nil, nil
	}
	pi.snap = s
	keep = true
	return s, pi, nil
}

// warmUp runs an empty script, so that the snapshot holds a built Lua VM and
// environment rather than leave every instance's first run to build them.
func (p *pool) warmUp(ctx context.Context, mod api.Module) error {
	inst := &instance{
		host:   p.h,
		module: warmUpActor,
		task:   &abi.Task{Name: "=warmup", Source: []byte{}, MemoryLimit: int64(p.maxPages) * wasmPage},
		policy: new(PolicyCounters),
		log:    p.h.log,
	}
	_, err := mod.ExportedFunction(abi.ExportRun).Call(context.WithValue(ctx, instanceKey{}, inst))
	switch {
	case err != nil:
		return err
	case inst.failed != nil:
		return errors.New(inst.failed.Message)
	case !inst.finished || inst.result != nil:
		return errors.New("the guest did not report success")
	}
	return nil
}

// coldStart instantiates the variant and does what instantiating the original would
// have: write its data segments, then run _initialize.
func (p *pool) coldStart(ctx context.Context) (*pooled, error) {
	pi, alloc := p.newPooled()
	mod, err := p.sb.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), p.sb.guest, p.moduleConfig(pi).WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("host: instantiating guest: %w", err)
	}
	pi.mod, pi.mem = mod, alloc.mem
	for _, seg := range p.sb.variant.data {
		if memoryOf(mod) == nil || !memoryOf(mod).Write(seg.offset, seg.bytes) {
			mod.Close(ctx)
			return nil, &GuestError{Msg: "a data segment is out of bounds"}
		}
	}
	if err := pi.bindGlobals(p.sb.variant); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	if _, err := mod.ExportedFunction(abi.ExportInitialize).Call(ctx); err != nil {
		mod.Close(ctx)
		return nil, fmt.Errorf("host: instantiating guest: %s: %w", abi.ExportInitialize, err)
	}
	return pi, nil
}

// fromSnapshot starts an instance from the snapshot: memory from the image, grown to
// the snapshot's size, and the globals set.
func (p *pool) fromSnapshot(ctx context.Context, s *poolSnapshot) (*pooled, error) {
	if !s.acquire() {
		return nil, errors.New("host: closed")
	}
	pi, alloc := p.newPooled()
	pi.snap = s // released when the instance is closed, or below if it never starts
	alloc.img, alloc.mode = &s.img, s.mode
	mod, err := p.sb.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), p.sb.guest, p.moduleConfig(pi).WithStartFunctions())
	if err != nil {
		s.release()
		return nil, fmt.Errorf("host: instantiating guest: %w", err)
	}
	pi.mod, pi.mem = mod, alloc.mem
	fail := func(err error) (*pooled, error) {
		closeAll([]*pooled{pi})
		return nil, err
	}
	if mem := memoryOf(mod); mem != nil {
		if have := mem.Size() / wasmPage; have < s.pages {
			if _, ok := mem.Grow(s.pages - have); !ok {
				return fail(fmt.Errorf("host: growing a new instance to its snapshot's %d pages", s.pages))
			}
		}
	}
	if err := pi.bindGlobals(p.sb.variant); err != nil {
		return fail(err)
	}
	pi.setGlobals(s.globals)
	if rm, ok := pi.mem.(*reservedMemory); ok && s.mode == imageMapped && s.reset == resetWritten {
		for _, r := range s.hotPages() {
			prefault(rm.buf[r[0] : r[0]+r[1]])
		}
	}
	return pi, nil
}

// resetInstance puts an instance back to the snapshot after a run; false means it
// cannot be and must be closed (recycled).
//
// Wasm memory cannot shrink. Memory a run grew is zeroed and kept up to a slack of
// growSlack(limit): the guest's allocator then reuses it (Go's runtime in the guest
// grows by whole 4 MiB arenas, so most runs that allocate grow once). Past the slack
// the instance is recycled, so no run can take more than the slack from the next.
func (s *poolSnapshot) resetInstance(pi *pooled, maxPages uint32) bool {
	mem := memoryOf(pi.mod)
	switch {
	case s.reset == resetRecycle:
		return false
	case mem == nil:
		pi.setGlobals(s.globals)
		return true
	case mem.Size() < s.pages*wasmPage || uint64(mem.Size()-s.pages*wasmPage) > growSlack(maxPages):
		return false
	}
	buf, ok := mem.Read(0, mem.Size())
	if !ok {
		return false
	}
	size := len(s.img.mem)
	rm, ours := pi.mem.(*reservedMemory)
	ours = ours && len(buf) > 0 && &rm.buf[0] == &buf[0]
	switch {
	case s.reset == resetRemap && s.mode == imageMapped && ours:
		if err := mapImage(rm.buf, s.img.fd, size); err != nil {
			return false
		}
	case s.reset == resetWritten && s.mode == imageMapped && ours:
		var err error
		pi.written = pi.written[:0]
		written := 0
		pi.scratch, err = writtenPages(buf[:size], pi.scratch, func(off, n int) {
			pi.written = append(pi.written, [2]int{off, n})
			written += n
		})
		switch {
		case err != nil:
			copy(buf, s.img.mem)
		case written > keepWritten:
			// A run that wrote much: map the image again, which frees its private pages,
			// rather than keep them for an idle instance; the next run faults in the
			// pages it writes.
			if err := mapImage(rm.buf, s.img.fd, size); err != nil {
				return false
			}
		default:
			for _, r := range pi.written {
				copy(buf[r[0]:r[0]+r[1]], s.img.mem[r[0]:r[0]+r[1]])
			}
			s.learnHot(pi.written)
		}
	default:
		copy(buf, s.img.mem)
	}
	if len(buf) > size {
		if !ours {
			clear(buf[size:])
		} else if err := zeroPages(buf[size:]); err != nil {
			return false
		}
	}
	pi.setGlobals(s.globals)
	return true
}

// keepWritten is how many bytes of pages a run may have written for its instance to
// keep them (copied back from the image) rather than have the image mapped again: what
// a tiny script writes (about 250 KiB for the gopher-lua guest) stays private, so the
// next run takes no page faults, and an idle instance holds at most this much of its own.
const keepWritten = 512 << 10

// growSlack is how much memory past its snapshot an instance may keep between runs:
// an eighth of its limit, at most 8 MiB.
func growSlack(maxPages uint32) uint64 {
	return min(uint64(maxPages)*wasmPage/8, 8<<20)
}

// bindGlobals finds the variant's exported mutable globals in a new instance.
func (pi *pooled) bindGlobals(v *variant) error {
	pi.globals = make([]api.MutableGlobal, len(v.globals))
	for i, name := range v.globals {
		g, ok := pi.mod.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			return &GuestError{Msg: "snapshot variant lacks global " + name}
		}
		pi.globals[i] = g
	}
	return nil
}

func (pi *pooled) setGlobals(vals []uint64) {
	for i, g := range pi.globals {
		g.Set(vals[i])
	}
}

// newPooled makes the host side of an instance and the allocator of its memory.
func (p *pool) newPooled() (*pooled, *memoryAllocator) {
	return &pooled{stdout: &switchWriter{}, stderr: &switchWriter{}}, &memoryAllocator{}
}

func (p *pool) moduleConfig(pi *pooled) wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithName(fmt.Sprintf("%s#%d", p.module, p.h.seq.Add(1))).
		// Every instance starts from the same bytes: randomness must come from outside
		// them, per call (wazero's default source is the same in every instance).
		WithRandSource(cryptorand.Reader).
		// A real monotonic clock: with wazero's default, which advances 1 ms per reading,
		// Go's collector in a Go guest counts its own clock readings as most of the CPU
		// time, switches its CPU limiter on, stops assisting, and, with no other thread to
		// finish the cycle, lets the heap grow until the memory limit kills the run
		// (docs/decisions.md). Sleep stays wazero's no-op: a guest that sleeps spins,
		// and the run's timeout still stops it.
		WithSysNanotime().
		WithStdout(pi.stdout).
		WithStderr(pi.stderr)
}

// snapshotState is a sandbox's snapshot: one per guest and memory limit, shared by
// every module's pool, so instances of all modules share the pages they never write.
type snapshotState struct {
	snapMu    sync.Mutex
	snapTried bool
	snap      *poolSnapshot
}

// memoryOf is an instance's memory, or nil when it has none (wazero then returns a
// nil pointer inside a non-nil interface).
func memoryOf(mod api.Module) api.Memory {
	mem := mod.Memory()
	if mem == nil || reflect.ValueOf(mem).IsNil() {
		return nil
	}
	return mem
}
