package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/sys/unix"

	"github.com/wasmkv/wasmkv/host"
	"github.com/wasmkv/wasmkv/wasmpass"
)

// instrument rewrites the guest with wasmpass's countdown and registers in rt a check
// function that does what the host's does (host/preempt.go): reset the countdown, stop
// past the deadline, yield.
func instrument(ctx context.Context, rt wazero.Runtime, wasm []byte) ([]byte, error) {
	out, _, err := wasmpass.Rewrite(wasm, wasmpass.Options{Limits: wasmpass.DefaultLimits(), Preempt: true})
	if err != nil {
		return nil, err
	}
	check := func(ctx context.Context, mod api.Module, _ []uint64) {
		mod.ExportedGlobal(wasmpass.CountdownExport).(api.MutableGlobal).Set(api.EncodeI32(wasmpass.CountdownStart))
		if d, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(d) {
			_ = mod.CloseWithExitCode(ctx, sys.ExitCodeDeadlineExceeded)
			panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
		}
		runtime.Gosched()
	}
	_, err = rt.NewHostModuleBuilder(wasmpass.PreemptModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(check), nil, nil).Export(wasmpass.PreemptFunc).Instantiate(ctx)
	return out, err
}

// onThreadCPU runs f on a locked OS thread and returns the CPU time that thread spent in
// it instead of the wall time f measured. The guest runs on the calling goroutine's
// thread, host functions included, so on a machine shared with other processes this
// measures the code rather than the machine's load. Where the thread's CPU time cannot be
// read it returns f's wall time.
func onThreadCPU(f func() (time.Duration, error)) (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, ok := threadCPU()
	wall, err := f()
	c1, ok1 := threadCPU()
	if !ok || !ok1 {
		return wall, err
	}
	return c1 - c0, err
}

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID: the scheduler's
// own accounting, in ns; getrusage's is in ticks on some kernels).
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// PreemptionResult compares the two preemption modes through the host: ns per store
// op (store and table loops) and per tiny run, and how long after its deadline a stuck
// guest stopped.
type PreemptionResult struct {
	StoreCountdown, StoreExit, TableCountdown, TableExit, TinyCountdown, TinyExit Stats
	StopCountdown, StopExit                                                       []time.Duration
}

// Preemption measures ModStore (countdown, the default) against ModStoreExit
// (exit-checks) through h.Run, interleaved over rounds, in CPU time (onThreadCPU); then runs a stuck guest
// (`while true do end`, 50 ms timeout, on a prewarmed instance) stops times in each.
func Preemption(ctx context.Context, h *host.Host, rounds, stops int) (PreemptionResult, error) {
	var res PreemptionResult
	mods := []string{ModStore, ModStoreExit}
	for _, m := range mods {
		if err := h.Prewarm(ctx, m, 1); err != nil {
			return res, err
		}
	}
	var per [6][]float64
	for round := -1; round < rounds; round++ {
		for i, m := range mods {
			ds, err := onThreadCPU(func() (time.Duration, error) { return RunScript(ctx, h, m, StoreLoopScript, LoopArgs("s:")...) })
			if err != nil {
				return res, err
			}
			dt, err := onThreadCPU(func() (time.Duration, error) { return RunScript(ctx, h, m, TableLoopScript, LoopArgs("s:")...) })
			if err != nil {
				return res, err
			}
			var tiny time.Duration
			for range 20 {
				d, err := onThreadCPU(func() (time.Duration, error) { return RunScript(ctx, h, m, TinyScript) })
				if err != nil {
					return res, err
				}
				tiny += d
			}
			if round >= 0 {
				per[i] = append(per[i], PerOp(ds, 1))
				per[2+i] = append(per[2+i], PerOp(dt, 1))
				per[4+i] = append(per[4+i], float64(tiny.Nanoseconds())/20)
			}
		}
	}
	res.StoreCountdown, res.StoreExit = summarize(per[0]), summarize(per[1])
	res.TableCountdown, res.TableExit = summarize(per[2]), summarize(per[3])
	res.TinyCountdown, res.TinyExit = summarize(per[4]), summarize(per[5])
	const timeout = 50 * time.Millisecond
	for range stops {
		for i, m := range mods {
			if err := h.Prewarm(ctx, m, 1); err != nil {
				return res, err
			}
			start := time.Now()
			err := h.Run(ctx, host.Script{Module: m, Name: "stuck.lua", Source: []byte(`while true do end`), Timeout: timeout})
			over := time.Since(start) - timeout
			if err == nil {
				return res, fmt.Errorf("bench: a stuck guest of %s returned without error", m)
			}
			if i == 0 {
				res.StopCountdown = append(res.StopCountdown, over)
			} else {
				res.StopExit = append(res.StopExit, over)
			}
		}
	}
	return res, nil
}

// TickerResult is how late a 5 ms ticker of the host ran while guests spun, and how
// long forced GCs took meanwhile.
type TickerResult struct {
	Spinners      int
	WorstGap      time.Duration // the longest time between two ticks received
	Ticks, GCs    int
	WorstGC       time.Duration
	MissedPercent float64
}

// Ticker runs 2 spinning guests per processor (`while true do end`, string.rep, a
// pattern match, table.sort) in module (whose preemption decides the outcome) for
// window, with a 5 ms ticker and a loop of forced GCs in the host.
func Ticker(ctx context.Context, h *host.Host, module string, window time.Duration) (TickerResult, error) {
	srcs := []string{
		`while true do end`,
		`while true do local s = string.rep("x", 1024 * 1024) collectgarbage() end`,
		`local s = string.rep("a", 28) while true do string.find(s, string.rep("a?", 28) .. string.rep("a", 28) .. "b") end`,
		`local t = {} for i = 1, 200000 do t[i] = (i * 7919) % 200003 end
		while true do local u = {} for i = 1, #t do u[i] = t[i] end table.sort(u) end`,
	}
	res := TickerResult{Spinners: 2 * runtime.GOMAXPROCS(0)}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := range res.Spinners {
		wg.Go(func() {
			_ = h.Run(rctx, host.Script{Module: module, Name: "spin.lua", Source: []byte(srcs[i%len(srcs)]), Timeout: time.Hour})
		})
	}
	time.Sleep(200 * time.Millisecond) // let them start
	stop := make(chan struct{})
	var gcMu sync.Mutex
	var gcLoop sync.WaitGroup
	gcLoop.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			runtime.GC()
			d := time.Since(start)
			gcMu.Lock()
			res.GCs++
			res.WorstGC = max(res.WorstGC, d)
			gcMu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	})
	t := time.NewTicker(5 * time.Millisecond)
	start := time.Now()
	prev := start
	for range t.C {
		now := time.Now()
		res.WorstGap = max(res.WorstGap, now.Sub(prev))
		prev = now
		res.Ticks++
		if now.Sub(start) >= window {
			break
		}
	}
	t.Stop()
	expected := float64(time.Since(start) / (5 * time.Millisecond))
	res.MissedPercent = 100 * max(0, expected-float64(res.Ticks)) / expected
	gcMu.Lock()
	gcs := res.GCs
	gcMu.Unlock()
	cancel()
	close(stop)
	gcLoop.Wait()
	wg.Wait()
	res.GCs = gcs
	return res, nil
}
