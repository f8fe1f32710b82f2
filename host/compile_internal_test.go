package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/wasmpass"
)

// heldCompiles makes every compile of h wait, after the structural checks and before
// wazero, until release is closed or the compile's context ends. entered receives one
// value per compile that started.
type heldCompiles struct {
	entered chan struct{}
	release chan struct{}
	n       atomic.Int64
}

func holdCompiles(h *Host) *heldCompiles {
	hc := &heldCompiles{entered: make(chan struct{}, 16), release: make(chan struct{})}
	h.opts.compileHook = func(ctx context.Context) {
		hc.n.Add(1)
		hc.entered <- struct{}{}
		select {
		case <-hc.release:
		case <-ctx.Done():
		}
	}
	return hc
}

func newInternalHost(t *testing.T, opts ...Option) *Host {
	t.Helper()
	cfg, err := ParseConfig([]byte("stores:\n  app:cache: {kind: memory}\npolicies:\n  - {name: all, effect: allow}\n"))
	require.NoError(t, err)
	h, err := New(context.Background(), cfg, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func runLuaInternal(t *testing.T, h *Host, module, src string) string {
	t.Helper()
	var out bytes.Buffer
	err := h.Run(context.Background(), Script{Module: module, Name: "x.lua", Source: []byte(src), Stdout: &out, Timeout: time.Minute})
	require.NoError(t, err)
	return out.String()
}

// TestCompileDoesNotBlockOtherRuns: while a big guest (the Go SDK plugin) compiles,
// a Lua run of another module starts and finishes: compiling holds no host-wide lock.
// The compile is held by a hook, so the test needs no timing.
func TestCompileDoesNotBlockOtherRuns(t *testing.T) {
	plugin, err := os.ReadFile(filepath.Join("..", "examples", "plugin-go", "plugin.wasm"))
	if errors.Is(err, os.ErrNotExist) {
		t.Fatal("examples/plugin-go/plugin.wasm is missing: run `make plugins`")
	}
	require.NoError(t, err)
	h := newInternalHost(t)
	hc := holdCompiles(h)
	loaded := make(chan error, 1)
	go func() {
		_, err := h.LoadGuest(context.Background(), plugin)
		loaded <- err
	}()
	<-hc.entered
	assert.Equal(t, "ran\n", runLuaInternal(t, h, "other", `print("ran")`), "a run while the plugin compiles")
	select {
	case err := <-loaded:
		t.Fatalf("the plugin's compile was not held: %v", err)
	default:
	}
	close(hc.release)
	require.NoError(t, <-loaded)
}

// TestCompileOncePerKey: callers that want the same sandbox at once share one compile,
// and all get its result.
func TestCompileOncePerKey(t *testing.T) {
	h := newInternalHost(t)
	hc := holdCompiles(h)
	const callers = 4
	var wg sync.WaitGroup
	sbs := make([]*sandbox, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { sbs[i], errs[i] = h.sandboxFor(context.Background(), h.lua, 64<<20, PreemptCountdown) })
	}
	<-hc.entered
	// Every caller has joined the compile before it is released.
	for {
		h.mu.Lock()
		c := h.compiling[sandboxKey{h.lua, memoryPages(64 << 20), PreemptCountdown}]
		n := 0
		if c != nil {
			n = c.waiters
		}
		h.mu.Unlock()
		if n == callers {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(hc.release)
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i])
		assert.Same(t, sbs[0], sbs[i])
	}
	assert.Equal(t, int64(1), hc.n.Load(), "compiles")
}

// TestCompileCallerLeaves: a caller whose context ends stops waiting for a compile; the
// compile, with no caller left, is stopped and not kept, and the next caller compiles
// afresh and succeeds.
func TestCompileCallerLeaves(t *testing.T) {
	h := newInternalHost(t)
	hc := holdCompiles(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.sandboxFor(ctx, h.lua, 64<<20, PreemptCountdown)
		done <- err
	}()
	<-hc.entered
	cancel()
	err := <-done // returns although the compile is still held
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "gave up waiting for the guest to compile")

	go func() { <-hc.entered; close(hc.release) }()
	sb, err := h.sandboxFor(context.Background(), h.lua, 64<<20, PreemptCountdown)
	require.NoError(t, err)
	require.NotNil(t, sb)
	assert.Equal(t, int64(2), hc.n.Load(), "the abandoned compile is not kept: the next caller compiles again")
}

// TestCompileAfterClose: a compile that ends after Close releases its runtime, and its
// caller gets an error rather than a closed sandbox.
func TestCompileAfterClose(t *testing.T) {
	h := newInternalHost(t)
	hc := holdCompiles(h)
	done := make(chan error, 1)
	go func() {
		_, err := h.sandboxFor(context.Background(), h.lua, 64<<20, PreemptCountdown)
		done <- err
	}()
	<-hc.entered
	require.NoError(t, h.Close(context.Background()))
	assert.Error(t, <-done)
	h.mu.Lock()
	assert.Empty(t, h.sandbox)
	h.mu.Unlock()
}

// TestModulesRunInTheirMode: each module's runs use a sandbox compiled for its own
// preemption, and the default mode is countdown.
func TestModulesRunInTheirMode(t *testing.T) {
	cfg, err := ParseConfig([]byte("modules:\n  old: {preemption: exit-checks}\n"))
	require.NoError(t, err)
	h, err := New(context.Background(), cfg)
	require.NoError(t, err)
	defer h.Close(context.Background())
	runLuaInternal(t, h, "old", `x = 1`)
	runLuaInternal(t, h, "new", `x = 1`)
	h.mu.Lock()
	defer h.mu.Unlock()
	modes := map[Preemption]bool{}
	for key := range h.sandbox {
		modes[key.mode] = true
	}
	assert.Equal(t, map[Preemption]bool{PreemptCountdown: true, PreemptExitChecks: true}, modes)
}

// TestRewriteCachedOnDisk: the rewritten guest is kept next to wazero's cache with a
// checksum, is exactly what the pass produces (the snapshot variant with the countdown), is read by a later host rather than
// rewritten, and a damaged file is rewritten rather than compiled.
func TestRewriteCachedOnDisk(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("testdata", "wat", "hostile_stash.wasm"))
	if errors.Is(err, os.ErrNotExist) {
		t.Fatal("testdata/wat/hostile_stash.wasm is missing: run `make wat`")
	}
	require.NoError(t, err)
	want, rep, err := wasmpass.Rewrite(wasm, wasmpass.Options{Limits: guestLimits(), Preempt: true, Snapshot: true})
	require.NoError(t, err)
	v, err := snapshotVariant(rep)
	require.NoError(t, err)
	body := encodePassFile(prepared{wasm: want, variant: v}, wasm)
	require.True(t, bytes.HasSuffix(body, want), "the cached file does not hold the pass's output")
	sum := sha256.Sum256(body)
	wantFile := append(body, sum[:]...)

	dir := t.TempDir()
	newInternalHost(t, WithCompilationCacheDir(dir), WithGuest(wasm))
	files, err := filepath.Glob(filepath.Join(dir, "wasmkv-pass", "*.wasm"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	cached, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.True(t, bytes.Equal(wantFile, cached), "the cached file is not the pass's output and its checksum")

	// A later host reads it: a hit writes nothing, so the file keeps an old time.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, os.Chtimes(files[0], old, old))
	h := newInternalHost(t, WithCompilationCacheDir(dir), WithGuest(wasm))
	fi, err := os.Stat(files[0])
	require.NoError(t, err)
	assert.True(t, fi.ModTime().Equal(old), "the cached rewrite was not used")

	// A damaged file is a miss: the next host rewrites the guest and runs, and the file
	// is whole again.
	require.NoError(t, os.WriteFile(files[0], cached[:len(cached)/2], 0o600))
	h = newInternalHost(t, WithCompilationCacheDir(dir), WithGuest(wasm))
	_, err = h.sandboxFor(context.Background(), h.lua, h.opts.memory, PreemptCountdown)
	require.NoError(t, err)
	cached, err = os.ReadFile(files[0])
	require.NoError(t, err)
	assert.True(t, bytes.Equal(wantFile, cached), "the damaged file was not replaced")
}
