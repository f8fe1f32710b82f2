package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// RawGuest runs the embedded Lua guest on a bare wazero runtime whose host functions
// are the host's own (a host.Session: the same memory protocol, request handling,
// checks, policies and engine), with wazero's termination checks
// (WithCloseOnContextDone) on or off. It exists to measure one thing the host cannot
// switch off: the price of those checks.
type RawGuest struct {
	countdown bool // the guest rewritten by wasmpass, with the host's check (host/preempt.go)
	rt        wazero.Runtime
	cache     wazero.CompilationCache
	sess      *host.Session
	mod       api.Module
	run       api.Function
}

// DefaultCacheDir is the host's default compilation cache dir, the one the CLI uses.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "wasmkv", "wazero")
}

// GuestWasm reads host/guest.wasm, the build of the guest that package host embeds
// (`make guest` writes it; the host embeds it when the test or driver is built).
func GuestWasm() ([]byte, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(root, "host", "guest.wasm"))
}

// NewRawGuest compiles (or loads from cacheDir; "" for DefaultCacheDir) and
// instantiates the guest with termination checks on or off.
func NewRawGuest(ctx context.Context, cacheDir string, checks bool) (*RawGuest, error) {
	return newRawGuest(ctx, cacheDir, checks, false)
}

// NewRawGuestCountdown is NewRawGuest with the host's countdown preemption instead of
// wazero's checks: the guest rewritten by wasmpass, and a check function that does
// what the host's does.
func NewRawGuestCountdown(ctx context.Context, cacheDir string) (*RawGuest, error) {
	return newRawGuest(ctx, cacheDir, false, true)
}

func newRawGuest(ctx context.Context, cacheDir string, checks, countdown bool) (*RawGuest, error) {
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	sess, err := host.NewSession(ctx, Config(), ModStore)
	if err != nil {
		return nil, err
	}
	g := &RawGuest{sess: sess, countdown: countdown}
	rc := wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(checks).
		WithMemoryLimitPages(uint32(host.DefaultMemoryLimit / 65536))
	if cacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, err
		}
		g.cache = c
		rc = rc.WithCompilationCache(c)
	}
	g.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if err := g.init(ctx); err != nil {
		g.Close(ctx)
		return nil, err
	}
	return g, nil
}

func (g *RawGuest) init(ctx context.Context) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, g.rt); err != nil {
		return err
	}
	if err := g.sess.Instantiate(ctx, g.rt); err != nil {
		return err
	}
	wasm, err := GuestWasm()
	if err != nil {
		return err
	}
	if g.countdown {
		if wasm, err = instrument(ctx, g.rt, wasm); err != nil {
			return err
		}
	}
	cm, err := g.rt.CompileModule(ctx, wasm)
	if err != nil {
		return err
	}
	// The host's real clock, as the host gives its instances: Go's collector stalls on
	// wazero's fake one (docs/decisions.md, "Go's collector in the guest needs a real clock").
	g.mod, err = g.rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("raw").
		WithSysNanotime().WithStartFunctions(abi.ExportInitialize))
	if err != nil {
		return err
	}
	g.run = g.mod.ExportedFunction(abi.ExportRun)
	return nil
}

// Close releases the runtime and the cache.
func (g *RawGuest) Close(ctx context.Context) {
	g.rt.Close(ctx)
	g.sess.Close()
	if g.cache != nil {
		g.cache.Close(ctx)
	}
}

// Run runs src with args once and returns its wall time.
func (g *RawGuest) Run(ctx context.Context, src []byte, args ...string) (time.Duration, error) {
	task := abi.Task{Name: "bench.lua", Source: src, MemoryLimit: host.DefaultMemoryLimit}
	for _, a := range args {
		task.Args = append(task.Args, []byte(a))
	}
	g.sess.Reset(ModStore, task)
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	_, err := g.run.Call(rctx)
	d := time.Since(start)
	if err == nil {
		if finished, failure := g.sess.Result(); !finished {
			err = errors.New("bench: raw guest did not finish")
		} else if failure != nil {
			err = failure
		}
	}
	return d, err
}

// TerminationResult is the cost of termination checks: the same work on the same guest
// with checks on and off, as ns per store op (store and table loops) and per run (tiny).
type TerminationResult struct {
	StoreOn, StoreOff, TableOn, TableOff Stats // ns per store op
	TinyOn, TinyOff                      Stats // ns per run
	// The same with the countdown (host/preempt.go) instead of wazero's checks.
	StoreCountdown, TableCountdown, TinyCountdown Stats
}

// TerminationChecks measures the store loop, the guest-table loop and the tiny script
// on three RawGuests, wazero's checks on, off, and the countdown, interleaved over rounds,
// in the CPU time of the thread that ran them (onThreadCPU).
func TerminationChecks(ctx context.Context, cacheDir string, rounds int) (TerminationResult, error) {
	var res TerminationResult
	on, err := NewRawGuest(ctx, cacheDir, true)
	if err != nil {
		return res, err
	}
	defer on.Close(ctx)
	off, err := NewRawGuest(ctx, cacheDir, false)
	if err != nil {
		return res, err
	}
	defer off.Close(ctx)
	countdown, err := NewRawGuestCountdown(ctx, cacheDir)
	if err != nil {
		return res, err
	}
	defer countdown.Close(ctx)
	var per [9][]float64
	for round := -1; round < rounds; round++ {
		for i, g := range []*RawGuest{on, off, countdown} {
			ds, err := onThreadCPU(func() (time.Duration, error) { return g.Run(ctx, StoreLoopScript, LoopArgs("s:")...) })
			if err != nil {
				return res, err
			}
			dt, err := onThreadCPU(func() (time.Duration, error) { return g.Run(ctx, TableLoopScript, LoopArgs("s:")...) })
			if err != nil {
				return res, err
			}
			var tiny time.Duration
			for range 20 {
				d, err := onThreadCPU(func() (time.Duration, error) { return g.Run(ctx, TinyScript) })
				if err != nil {
					return res, err
				}
				tiny += d
			}
			if round >= 0 {
				per[3*i] = append(per[3*i], PerOp(ds, 1))
				per[3*i+1] = append(per[3*i+1], PerOp(dt, 1))
				per[3*i+2] = append(per[3*i+2], float64(tiny.Nanoseconds())/20)
			}
		}
	}
	res.StoreOn, res.TableOn, res.TinyOn = summarize(per[0]), summarize(per[1]), summarize(per[2])
	res.StoreOff, res.TableOff, res.TinyOff = summarize(per[3]), summarize(per[4]), summarize(per[5])
	res.StoreCountdown, res.TableCountdown, res.TinyCountdown = summarize(per[6]), summarize(per[7]), summarize(per[8])
	return res, nil
}

// MemPages returns the guest's linear memory size in 64 KiB pages.
func (g *RawGuest) MemPages() uint32 { return g.mod.Memory().Size() / 65536 }
