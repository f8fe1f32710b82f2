package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmkv/wasmkv/wasmpass"
)

// Compiling a guest is bounded, and never blocks other modules' runs:
//   - a module over wasmpass's structural limits (size, functions, locals, nesting,
//     br_table targets, segments, ...) is refused with a GuestError naming the limit
//     before wazero sees it, so what reaches the compiler has a bounded cost;
//   - compiling happens outside the host-wide lock, once per (guest, memory limit,
//     preemption) however many callers want it at once;
//   - a caller stops waiting when its context ends. The compile then goes on only while
//     another caller waits for it (wazero checks its context between functions when it
//     compiles with several workers); a compile that finishes anyway is kept.

// sandboxKey names one compiled sandbox of a host.
type sandboxKey struct {
	guest *Guest
	pages uint32
	mode  Preemption
}

// compileCall is one compile in progress, shared by every caller of its key.
type compileCall struct {
	done    chan struct{} // closed when sb and err are set
	sb      *sandbox
	err     error
	waiters int                // callers waiting; guarded by Host.mu
	cancel  context.CancelFunc // stops the compile when no caller waits any more
}

// sandboxFor returns a guest compiled for a memory limit and a preemption mode,
// compiling it on first use.
func (h *Host) sandboxFor(ctx context.Context, g *Guest, limit ByteSize, mode Preemption) (*sandbox, error) {
	key := sandboxKey{g, memoryPages(limit), mode}
	h.mu.Lock()
	if sb, ok := h.sandbox[key]; ok {
		h.mu.Unlock()
		return sb, nil
	}
	if h.closed {
		h.mu.Unlock()
		return nil, errors.New("host: closed")
	}
	c, ok := h.compiling[key]
	if !ok {
		// The compile's context is none of its callers': it ends when they all left.
		cctx, cancel := context.WithCancel(context.Background())
		c = &compileCall{done: make(chan struct{}), cancel: cancel}
		h.compiling[key] = c
		go h.compileFor(cctx, key, c)
	}
	c.waiters++
	h.mu.Unlock()
	select {
	case <-c.done:
		return c.sb, c.err
	case <-ctx.Done():
		h.mu.Lock()
		if c.waiters--; c.waiters == 0 {
			c.cancel()
			// A later caller starts a compile of its own rather than join a cancelled one.
			if h.compiling[key] == c {
				delete(h.compiling, key)
			}
		}
		h.mu.Unlock()
		return nil, fmt.Errorf("host: gave up waiting for the guest to compile: %w", context.Cause(ctx))
	}
}

// compileFor runs one compileCall and keeps its sandbox.
func (h *Host) compileFor(ctx context.Context, key sandboxKey, c *compileCall) {
	defer c.cancel()
	sb, err := h.compile(ctx, key.guest, key.pages, key.mode)
	h.mu.Lock()
	if h.compiling[key] == c {
		delete(h.compiling, key)
	}
	if err != nil && h.closed {
		err = errors.New("host: closed")
	}
	if err == nil {
		switch kept, ok := h.sandbox[key]; {
		case h.closed:
			sb.rt.Close(context.Background())
			sb, err = nil, errors.New("host: closed")
		case ok: // a later compile of the same key finished first
			sb.rt.Close(context.Background())
			sb = kept
		default:
			h.sandbox[key] = sb
		}
	}
	c.sb, c.err = sb, err
	h.mu.Unlock()
	close(c.done)
}

// compile builds a runtime and compiles the guest in it, with the termination of mode.
// Some termination is not optional: Go in wasm has no preemption, so without it a
// guest stuck in a loop could not be stopped and would freeze the host at its next GC.
func (h *Host) compile(ctx context.Context, g *Guest, pages uint32, mode Preemption) (*sandbox, error) {
	prep, err := h.prepare(g, mode)
	if err != nil {
		return nil, err
	}
	if h.opts.compileHook != nil {
		h.opts.compileHook(ctx)
	}
	rc := wazero.NewRuntimeConfigCompiler()
	if h.opts.interp {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	rc = rc.WithCloseOnContextDone(mode == PreemptExitChecks).WithMemoryLimitPages(pages)
	if h.cache != nil {
		rc = rc.WithCompilationCache(h.cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("host: wasi: %w", err)
	}
	if _, err := instantiateHostModule(ctx, rt, runResolver); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	if err := instantiateUnwindModule(ctx, rt); err != nil { // the PUC Lua guest's pcall
		rt.Close(ctx)
		return nil, err
	}
	if mode == PreemptCountdown {
		if err := instantiatePreemptModule(ctx, rt); err != nil {
			rt.Close(ctx)
			return nil, err
		}
	}
	// wazero checks the context between functions only when it compiles with several
	// workers: at least two, so that a compile no caller waits for stops early.
	cctx := experimental.WithCompilationWorkers(ctx, max(2, runtime.GOMAXPROCS(0)))
	compiled, err := rt.CompileModule(cctx, prep.wasm)
	if err != nil {
		rt.Close(context.Background())
		if ctx.Err() != nil {
			return nil, fmt.Errorf("host: compiling the guest: %w", context.Cause(ctx))
		}
		return nil, &GuestError{Msg: "compiling: " + err.Error()}
	}
	if err := checkGuest(compiled, mode == PreemptCountdown); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return &sandbox{rt: rt, guest: compiled, variant: prep.variant}, nil
}

// prepared is what the host compiles for one preemption mode.
type prepared struct {
	wasm    []byte
	variant *variant // how wasm starts from a snapshot; nil when it cannot
}

// prepare returns what to compile for mode: the guest rewritten by package wasmpass
// into its snapshot variant, with the countdown checks in countdown mode; or, when the
// guest cannot start from a snapshot, rewritten only for the countdown, or the guest
// itself once it passed the structural limits. Either is kept with the guest, and also
// on disk next to wazero's compilation cache: the pass decodes all code, which for the
// 6 MB Lua guest costs a CLI start more than all the rest.
func (h *Host) prepare(g *Guest, mode Preemption) (prepared, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, ok := g.prepared[mode]; ok {
		return p, nil
	}
	p, err := h.rewrite(g.wasm, guestLimits(), mode == PreemptCountdown)
	if err != nil {
		return prepared{}, passError(err)
	}
	if g.prepared == nil {
		g.prepared = map[Preemption]prepared{}
	}
	g.prepared[mode] = p
	return p, nil
}

// rewrite is rewritePass through the on-disk cache when there is one. The file's name
// is the original's hash, the pass's version, the limits and the preemption, so that
// the rewrite is the same as computing it afresh. The file ends with the SHA-256 of the
// rest, so a damaged file is a miss, not a guest that no longer compiles. The directory
// has the same trust as wazero's cache beside it, which holds native code.
func (h *Host) rewrite(wasm []byte, limits wasmpass.Limits, preempt bool) (prepared, error) {
	var path string
	if dir := h.passCacheDir(); dir != "" {
		sum := sha256.Sum256(wasm)
		lsum := sha256.Sum256(fmt.Appendf(nil, "%+v", limits))
		kind := "plain"
		if preempt {
			kind = "countdown"
		}
		path = filepath.Join(dir, fmt.Sprintf("%x-v%d-%x-%s.wasm", sum, wasmpass.Version, lsum[:8], kind))
		if b, err := os.ReadFile(path); err == nil && len(b) > sha256.Size {
			body, trailer := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
			if got := sha256.Sum256(body); bytes.Equal(got[:], trailer) {
				if p, ok := decodePassFile(body, wasm); ok {
					return p, nil
				}
			}
		}
	}
	p, err := rewritePass(wasm, limits, preempt)
	if err != nil {
		return prepared{}, err
	}
	if path != "" {
		body := encodePassFile(p, wasm)
		sum := sha256.Sum256(body)
		if err := writeFileAtomic(path, append(body, sum[:]...)); err != nil {
			h.log.Warn("could not cache the rewritten guest", "path", path, "err", err)
		}
	}
	return p, nil
}

// rewritePass runs wasmpass.Rewrite with Snapshot (and Preempt when preempt), and
// again without Snapshot when the module cannot start from a snapshot.
func rewritePass(wasm []byte, limits wasmpass.Limits, preempt bool) (prepared, error) {
	o := wasmpass.Options{Limits: limits, Preempt: preempt, Snapshot: true}
	out, rep, err := wasmpass.Rewrite(wasm, o)
	if err == nil {
		if v, err := snapshotVariant(rep); err == nil {
			return prepared{wasm: out, variant: v}, nil
		}
	}
	// The module runs without a snapshot: it has a shape the host cannot restore, or the
	// pass refuses the variant (memory.init or data.drop need the data it drops), or
	// the module itself (the call below then says why).
	if !preempt {
		_, err := wasmpass.Check(wasm, limits)
		return prepared{wasm: wasm}, err
	}
	o.Snapshot = false
	out, _, err = wasmpass.Rewrite(wasm, o)
	return prepared{wasm: out}, err
}

// A cached rewrite holds, after passMagic and before the module's bytes, what the host
// needs of the pass's report, as unsigned varints: flags (passSnapshot, passOriginal), the exported globals
// (count, then each name's length and bytes), and the data segments (count, then each
// one's offset in memory, place in the original and length: the original is held by
// the host, so the file does not hold the data twice). Not JSON: the Lua guest has
// thousands of segments, and decoding them as JSON cost a CLI start 10 ms.
const passMagic = "wasmkv-pass 1\n" // a change of this format changes it

const (
	passSnapshot = 1 << iota // the module is the snapshot variant
	passOriginal             // the module is the original: no bytes follow
)

// encodePassFile is the head of p, then its module.
func encodePassFile(p prepared, original []byte) []byte {
	var flags uint64
	if p.variant != nil {
		flags |= passSnapshot
	}
	if p.variant == nil && len(original) > 0 && len(p.wasm) == len(original) && &p.wasm[0] == &original[0] {
		flags |= passOriginal
	}
	out := binary.AppendUvarint([]byte(passMagic), flags)
	var v variant
	if p.variant != nil {
		v = *p.variant
	}
	out = binary.AppendUvarint(out, uint64(len(v.globals)))
	for _, name := range v.globals {
		out = binary.AppendUvarint(out, uint64(len(name)))
		out = append(out, name...)
	}
	out = binary.AppendUvarint(out, uint64(len(v.data)))
	for _, seg := range v.data {
		out = binary.AppendUvarint(out, uint64(seg.offset))
		out = binary.AppendUvarint(out, uint64(seg.at))
		out = binary.AppendUvarint(out, uint64(len(seg.bytes)))
	}
	if flags&passOriginal == 0 {
		out = append(out, p.wasm...)
	}
	return out
}

// decodePassFile reads what encodePassFile wrote for original; false when it is not
// that, which is a cache miss.
func decodePassFile(b, original []byte) (prepared, bool) {
	b, ok := bytes.CutPrefix(b, []byte(passMagic))
	if !ok {
		return prepared{}, false
	}
	bad := false
	next := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad, n = true, len(b)
		}
		b = b[n:]
		return v
	}
	flags := next()
	var v variant
	for n := next(); n > 0 && !bad; n-- {
		l := next()
		if l > uint64(len(b)) {
			return prepared{}, false
		}
		v.globals = append(v.globals, string(b[:l]))
		b = b[l:]
	}
	for n := next(); n > 0 && !bad; n-- {
		off, at, l := next(), next(), next()
		if off > 1<<32-1 || at > uint64(len(original)) || l > uint64(len(original))-at {
			return prepared{}, false
		}
		v.data = append(v.data, dataSegment{offset: uint32(off), at: int(at), bytes: original[at : at+l]})
	}
	if bad || flags&^(passSnapshot|passOriginal) != 0 {
		return prepared{}, false
	}
	p := prepared{wasm: b}
	if flags&passOriginal != 0 {
		p.wasm = original
	}
	if flags&passSnapshot != 0 {
		p.variant = &v
	}
	return p, true
}

// passCacheDir is where rewritten guests are kept: inside wazero's cache directory,
// which wazero only uses through a subdirectory of its own.
func (h *Host) passCacheDir() string {
	if h.opts.noCache || h.opts.cacheDir == "" || h.cache == nil {
		return ""
	}
	return filepath.Join(h.opts.cacheDir, "wasmkv-pass")
}

// writeFileAtomic writes b to path through a temporary file and a rename, so that a
// reader never sees half a file, even with another process writing the same path.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// passError turns the pass's refusal into a GuestError that names what was refused.
func passError(err error) error {
	var le *wasmpass.LimitError
	if errors.As(err, &le) {
		return &GuestError{Msg: fmt.Sprintf("refused before compiling: %s: %d exceeds the limit %s (%d)", le.Where, le.Value, le.Limit, le.Max), Err: err}
	}
	return &GuestError{Msg: "refused before compiling: " + err.Error(), Err: err}
}

// guestLimits are the structural limits of every guest the host compiles: the pass's
// defaults, chosen from what our guests need and from wazero's compile times
// (docs/security.md, "Structural limits on guest modules").
func guestLimits() wasmpass.Limits { return wasmpass.DefaultLimits() }

// embeddedLua is the embedded Lua guest, shared by every host of the process so that
// its rewrite is done once per process.
var embeddedLua = sync.OnceValue(func() *Guest { return &Guest{wasm: embeddedGuest(luaGuest)} })
