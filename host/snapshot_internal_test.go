package host

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestResetRestoresSnapshot: after a run that writes all over the guest (globals,
// library tables, a large table), the instance that goes back to the pool has exactly
// the snapshot's memory and globals, under every reset mode. This is the guest-agnostic
// proof of isolation between runs: nothing of a run is left to observe.
func TestResetRestoresSnapshot(t *testing.T) {
	modes := []struct{ img, reset string }{{"copy", "copy"}, {"map", "copy"}, {"map", "written"}, {"map", "remap"}}
	if !canMapImages {
		modes = modes[:1]
	}
	for _, guest := range []string{GuestGopherLua, GuestPucLua} {
		for _, m := range modes {
			t.Run(guest+"/"+m.img+"/"+m.reset, func(t *testing.T) { testResetRestores(t, guest, m.img, m.reset) })
		}
	}
}

// testResetRestores runs scripts on one instance of guest and compares its memory and
// globals with the snapshot after each.
func testResetRestores(t *testing.T, guest, img, reset string) {
	cfg, err := ParseConfig([]byte("modules:\n  m: {pool_size: 1, guest: " + guest + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := New(ctx, cfg, WithSnapshotMode(img, reset))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	for _, src := range []string{
		`x = 1`,
		`string.rep = nil; setmetatable(_G, {}); local t = {} for i = 1, 50000 do t[i] = "v" .. i end; kept = t`,
		`error("boom")`,
	} {
		_ = h.Run(ctx, Script{Module: "m", Name: "t.lua", Source: []byte(src)})
		g, err := h.guestFor("m", "")
		if err != nil {
			t.Fatal(err)
		}
		p := h.pools[poolKey{"m", g, memoryPages(h.opts.memory)}]
		if len(p.idle) != 1 {
			t.Fatalf("%q: %d idle instances, want 1", src, len(p.idle))
		}
		pi := p.idle[0]
		s := pi.snap
		if s == nil {
			t.Fatal("the instance did not start from a snapshot")
		}
		mem := memoryOf(pi.mod)
		view, _ := mem.Read(0, mem.Size())
		if !bytes.Equal(view[:len(s.img.mem)], s.img.mem) {
			t.Errorf("%q: memory differs from the snapshot after the run", src)
		}
		if bytes.ContainsFunc(view[len(s.img.mem):], func(r rune) bool { return r != 0 }) {
			t.Errorf("%q: memory past the snapshot is not zero", src)
		}
		for i, g := range pi.globals {
			if g.Get() != s.globals[i] {
				t.Errorf("%q: global %d is %d, the snapshot's %d", src, i, g.Get(), s.globals[i])
			}
		}
	}
}

// peakChildEnv makes the test binary run TestPeakMemory's measured part.
const peakChildEnv = "WASMKV_PEAK_CHILD"

// TestPeakMemory (issue 12 item 5): while one guest fills a 128 MiB memory limit, the
// host process's peak RSS grows by little more than the limit. wazero's own memory
// grows by append-and-copy, which left the old buffers as garbage at the peak (about 4×
// the limit). The measure is the kernel's high-water mark (VmHWM) in a process of its
// own, so nothing else in this test binary counts; it does not depend on speed.
func TestPeakMemory(t *testing.T) {
	if os.Getenv(peakChildEnv) != "" {
		peakChild(t)
		return
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeakMemory$", "-test.v")
	cmd.Env = append(os.Environ(), peakChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var before, after int64
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "peak-kib "); ok {
			f := strings.Fields(rest)
			before, _ = strconv.ParseInt(f[0], 10, 64)
			after, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if after == 0 {
		t.Fatalf("child printed no measure:\n%s", out)
	}
	growth := (after - before) << 10
	t.Logf("peak RSS %d MiB before the run, %d MiB after (growth %d MiB)", before>>10, after>>10, growth>>20)
	const limit = 128 << 20
	if growth > limit+limit/2 {
		t.Errorf("peak RSS grew by %d MiB while a guest filled a %d MiB limit: more than 1.5× the limit", growth>>20, limit>>20)
	}
	if growth < limit/2 {
		t.Errorf("peak RSS grew by only %d MiB: the guest did not fill its memory, the test measures nothing", growth>>20)
	}
}

func peakChild(t *testing.T) {
	cfg, err := ParseConfig([]byte("modules:\n  m: {memory_limit: 128MiB}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	if err := h.Run(ctx, Script{Module: "m", Name: "warm.lua", Source: []byte(`x = 1`)}); err != nil {
		t.Fatal(err)
	}
	before := vmHWM(t)
	// A table of 1 MiB strings that grows until the limit stops it.
	err = h.Run(ctx, Script{Module: "m", Name: "fill.lua", Timeout: time.Minute,
		Source: []byte(`local t = {} while true do t[#t + 1] = string.rep("x", 2^20) end`)})
	if err == nil || !strings.Contains(err.Error(), "memory limit") {
		t.Fatalf("the run must hit its memory limit, got %v", err)
	}
	t.Logf("peak-kib %d %d", before, vmHWM(t))
	// Print it plainly too, for the parent to parse.
	os.Stdout.WriteString("peak-kib " + strconv.FormatInt(before, 10) + " " + strconv.FormatInt(vmHWM(t), 10) + "\n")
}

func vmHWM(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// FuzzSnapshotVariant: the host prepares untrusted modules (LoadGuest): preparing
// never panics, what it accepts places every data segment inside the module, and the
// cached form of what it prepared reads back as the same.
func FuzzSnapshotVariant(f *testing.F) {
	for _, name := range []string{"guest.wasm", "testdata/wat/hostile_stash.wasm", "testdata/wat/hostile_spin.wasm", "testdata/wat/load_env_import.wasm"} {
		if b, err := os.ReadFile(name); err == nil {
			if len(b) > 1<<16 {
				b = b[:1<<16] // a truncated module is a good seed too
			}
			f.Add(b)
		}
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		for _, preempt := range []bool{false, true} {
			p, err := rewritePass(wasm, guestLimits(), preempt)
			if err != nil {
				return
			}
			if len(p.wasm) < 8 || !bytes.Equal(p.wasm[:8], wasm[:8]) {
				t.Fatalf("the rewrite lost the module header")
			}
			if p.variant != nil {
				for _, seg := range p.variant.data {
					if !bytes.Equal(seg.bytes, wasm[seg.at:seg.at+len(seg.bytes)]) {
						t.Fatalf("a data segment is not where it says in the module")
					}
				}
			}
			assertSamePrepared(t, "fuzz", p, wasm)
		}
	})
}

// TestSnapshotVariantOfGuests: the real guests start from a snapshot in both
// preemption modes, with the same globals restored and the same data written (the
// countdown global is the host's, reset rather than restored); every guest, real or
// WAT, reads back the same from its cached form.
func TestSnapshotVariantOfGuests(t *testing.T) {
	guests := []string{"guest.wasm", "testdata/sdkguest/guest.wasm", "../examples/plugin-go/plugin.wasm"}
	wats, _ := filepath.Glob("testdata/wat/*.wasm")
	for i, name := range append(guests, wats...) {
		wasm, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%s: %v (built by make guest plugins wat)", name, err)
		}
		plain, perr := rewritePass(wasm, guestLimits(), false)
		countdown, cerr := rewritePass(wasm, guestLimits(), true)
		if i < len(guests) {
			if perr != nil || cerr != nil || plain.variant == nil || countdown.variant == nil {
				t.Errorf("%s: no snapshot variant: %v, %v", name, perr, cerr)
				continue
			}
			if !slices.Equal(plain.variant.globals, countdown.variant.globals) {
				t.Errorf("%s: globals restored: %v without the countdown, %v with it", name, plain.variant.globals, countdown.variant.globals)
			}
			if !slices.EqualFunc(plain.variant.data, countdown.variant.data, sameSegment) {
				t.Errorf("%s: the data written differs with the countdown", name)
			}
		}
		if perr == nil {
			assertSamePrepared(t, name, plain, wasm)
		}
		if cerr == nil {
			assertSamePrepared(t, name, countdown, wasm)
		}
	}
}

func sameSegment(a, b dataSegment) bool {
	return a.offset == b.offset && a.at == b.at && bytes.Equal(a.bytes, b.bytes)
}

// assertSamePrepared: p, cached and read back, is p.
func assertSamePrepared(t *testing.T, name string, p prepared, original []byte) {
	t.Helper()
	got, ok := decodePassFile(encodePassFile(p, original), original)
	switch {
	case !ok:
		t.Errorf("%s: the cached form does not read back", name)
	case !bytes.Equal(got.wasm, p.wasm) || (got.variant == nil) != (p.variant == nil):
		t.Errorf("%s: the cached form reads back as another module", name)
	case p.variant != nil && (!slices.Equal(got.variant.globals, p.variant.globals) || !slices.EqualFunc(got.variant.data, p.variant.data, sameSegment)):
		t.Errorf("%s: the cached form reads back with another variant", name)
	}
}

// TestSnapshotFreedWithHost: once a host is closed and its instances with it, nothing of
// its snapshot stays mapped (each host's image is 5 MiB; a process that makes many hosts
// must not keep them all).
func TestSnapshotFreedWithHost(t *testing.T) {
	if !canMapImages {
		t.Skip("images are not mapped here")
	}
	mapped := func() int {
		b, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "wasmkv-snapshot")
	}
	before := mapped()
	cfg, err := ParseConfig([]byte("modules:\n  m: {pool_size: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := h.Run(ctx, Script{Module: "m", Name: "t.lua", Source: []byte(`x = 1`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Prewarm(ctx, "m", 2); err != nil {
		t.Fatal(err)
	}
	if mapped() <= before {
		t.Fatal("the snapshot's image is not mapped while the host runs: the test measures nothing")
	}
	h.Close(ctx)
	if n := mapped(); n != before {
		t.Errorf("%d mappings of snapshot images left after the host closed (%d before)", n-before, before)
	}
}

// TestPassFileOfAnotherFormat: a cached file written in another format of the head
// (an older wasmkv's, under the same name) is a miss, not a module read wrongly.
func TestPassFileOfAnotherFormat(t *testing.T) {
	wasm, err := os.ReadFile("testdata/wat/hostile_stash.wasm")
	if err != nil {
		t.Fatalf("%v (built by make wat)", err)
	}
	p, err := rewritePass(wasm, guestLimits(), true)
	if err != nil {
		t.Fatal(err)
	}
	b := encodePassFile(p, wasm)
	if _, ok := decodePassFile(b, wasm); !ok {
		t.Fatal("the file does not read back")
	}
	other := bytes.Replace(b, []byte(passMagic), []byte("wasmkv-pass 0\n"), 1)
	if _, ok := decodePassFile(other, wasm); ok {
		t.Error("a file of another format was read")
	}
}
