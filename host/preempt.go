package host

// Stopping a guest that runs past its deadline: the countdown.
//
// What it guarantees. A run in "countdown" mode (the default) that is still running when
// its context is cancelled or its deadline passes is stopped at the guest's next check
// that fires: the instance is closed, the call unwinds with a *sys.ExitError, and Run
// reports Canceled or Timeout exactly as in "exit-checks" mode. Between two fires the
// guest executes at most countdownInterval loop iterations or function entries, plus
// whatever single instructions run long without a loop (memory.copy, memory.fill,
// memory.grow: bounded by the memory limit). At each fire the goroutine yields, so a
// guest that never calls the host still lets the host's other goroutines run and a
// stop-the-world GC start, on any GOMAXPROCS. Two shortcuts make stops prompt when
// iterations are costly: a call of the host's own functions past the deadline ends the
// run at once (stopIfPast), and a done context sets the countdown to 1 (hurry).
//
// What it relies on:
//   - package wasmpass, which puts a decrement of a per-instance exported i32 global
//     (wasmpass.CountdownExport) at every function entry and loop header, and a call of
//     wasmpass.PreemptModule.PreemptFunc when it reaches zero. The pass decodes every
//     instruction and refuses a module it cannot fully instrument, so no guest code is
//     left without checks. Code without a loop or a call runs straight through, which is
//     bounded by its size (the pass's structural limits);
//   - only the inserted code writes the countdown global: the pass adds it after the
//     module's own globals and refuses a module whose code names a global index out of
//     its own range, or that already uses the pass's import or export names. (Written
//     low it would only fire sooner; written high it could delay the next fire by up
//     to 2^31 checks.)
//   - the host function reads the clock, not only ctx.Err(): a context's deadline is
//     noticed by a timer goroutine, which may not have run yet when every CPU is busy
//     in wasm.
//
// Why not a flag the host sets: Go cannot preempt a goroutine running compiled wasm, and
// once a stop-the-world GC has begun no goroutine (timer, ticker, context.AfterFunc) can
// run to set it; the guest must come out by itself, which the countdown guarantees.

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmkv/wasmkv/wasmpass"
)

// Preemption is how the host stops a guest that runs past its deadline, set per module
// (ModuleConfig.Preemption) or for a whole host (WithPreemption).
type Preemption string

const (
	// PreemptCountdown instruments the guest with an inline countdown that calls the host
	// every countdownInterval loop iterations or function entries (this file). The default.
	PreemptCountdown Preemption = "countdown"
	// PreemptExitChecks is wazero's WithCloseOnContextDone: the compiled code leaves to
	// Go at every loop header. It does not depend on package wasmpass's rewrite, and
	// costs 2–6× on Go-compiled guests.
	PreemptExitChecks Preemption = "exit-checks"
	// preemptNone compiles with no termination at all: a stuck guest can never be
	// stopped and freezes the host at its next GC. For measuring the other two only;
	// neither the configuration nor WithPreemption accepts it.
	preemptNone Preemption = "none (tests only)"
)

func (p Preemption) validate() error {
	switch p {
	case "", PreemptCountdown, PreemptExitChecks:
		return nil
	}
	return fmt.Errorf("unknown preemption %q (%s, %s)", string(p), PreemptCountdown, PreemptExitChecks)
}

// WithPreemption sets the preemption of modules whose config sets none (default
// PreemptCountdown).
func WithPreemption(p Preemption) Option { return func(o *options) { o.preempt = p } }

// preemption returns the preemption of a module's runs.
func (h *Host) preemption(module string) Preemption {
	if p := h.cfg.Modules[module].Preemption; p != "" {
		return p
	}
	return h.opts.preempt
}

// countdownInterval is the value the check resets the countdown to: how many function
// entries and loop iterations a guest runs between two calls to the host. A gopher-lua
// guest makes 50 to 100 million checks a second, so at 100,000 it comes out every 1 to
// 2 ms. Measured (docs/decisions.md): 10,000 cost 10 % on a table loop; 1,000,000 put the
// median stop 26 ms after the deadline, against 5 ms here.
const countdownInterval = 100_000

// deadlineGrace bounds how long a fire that found the deadline passed by the clock
// waits for the context's own timer to fire (it is due, so it takes microseconds), so
// that the run sees context.DeadlineExceeded like any other timeout.
const deadlineGrace = 100 * time.Millisecond

// exitCodeNoCountdown ends a run whose module lacks the countdown global: the pass
// always adds it, so this is a broken guest or a broken pass, and the host fails closed.
const exitCodeNoCountdown = 0xeffffffe

// instantiatePreemptModule registers wasmpass.PreemptModule in r.
func instantiatePreemptModule(ctx context.Context, r wazero.Runtime) error {
	_, err := r.NewHostModuleBuilder(wasmpass.PreemptModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(preemptCheck), nil, nil).
		Export(wasmpass.PreemptFunc).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("host: instantiating %s: %w", wasmpass.PreemptModule, err)
	}
	return nil
}

// preemptCheck is wasmpass.PreemptFunc, called by the guest when its countdown reaches
// zero. It resets the countdown first: a stop decided after it costs nothing, while a
// reset after the deadline check could lose a fire. Then it ends the run if its
// context is done or its deadline has passed, the way proc_exit does (close the
// module, unwind with a *sys.ExitError); otherwise it yields the processor.
func preemptCheck(ctx context.Context, mod api.Module, _ []uint64) {
	g, ok := mod.ExportedGlobal(wasmpass.CountdownExport).(api.MutableGlobal)
	if !ok {
		exit(ctx, mod, exitCodeNoCountdown)
	}
	if mu, ok := ctx.Value(hurryKey{}).(*sync.Mutex); ok {
		mu.Lock()
		g.Set(api.EncodeI32(countdownInterval))
		mu.Unlock()
	} else {
		g.Set(api.EncodeI32(countdownInterval))
	}
	if code, stop := pastDeadline(ctx); stop {
		exit(ctx, mod, code)
	}
	runtime.Gosched()
}

// stopIfPast ends the run of ctx if it is past its deadline or cancelled. The host's own
// functions call it: a guest whose every loop iteration makes a host call would otherwise
// run countdownInterval host calls, each costing microseconds, before its next fire.
func stopIfPast(ctx context.Context, mod api.Module) {
	if code, stop := pastDeadline(ctx); stop {
		exit(ctx, mod, code)
	}
}

type hurryKey struct{}

// hurry makes the guest of mod fire its countdown at its next check as soon as ctx is
// done: for a loop whose iterations each make a costly call the host does not check in
// (a WASI random_get of a megabyte, say), countdownInterval iterations could otherwise
// take seconds. It is an optimisation only, since it needs a goroutine to run: the
// countdown alone still stops the run. The returned context carries the lock that
// orders its write of the countdown with the check's; call stop when the call returns.
func hurry(ctx context.Context, mod api.Module) (_ context.Context, stop func()) {
	g, ok := mod.ExportedGlobal(wasmpass.CountdownExport).(api.MutableGlobal)
	if !ok {
		return ctx, func() {}
	}
	mu := new(sync.Mutex)
	done := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(done)
		mu.Lock()
		defer mu.Unlock()
		g.Set(api.EncodeI32(1))
	})
	return context.WithValue(ctx, hurryKey{}, mu), func() {
		if !cancel() {
			<-done // so that no write reaches the instance's next run
		}
	}
}

// pastDeadline says whether the run of ctx must stop, and with which exit code.
func pastDeadline(ctx context.Context) (uint32, bool) {
	if err := ctx.Err(); err != nil {
		return exitCode(err), true
	}
	deadline, ok := ctx.Deadline()
	if !ok || time.Now().Before(deadline) {
		return 0, false
	}
	t := time.NewTimer(deadlineGrace)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return exitCode(ctx.Err()), true
	case <-t.C:
		return sys.ExitCodeDeadlineExceeded, true
	}
}

func exitCode(err error) uint32 {
	if err == context.DeadlineExceeded {
		return sys.ExitCodeDeadlineExceeded
	}
	return sys.ExitCodeContextCanceled
}

// exit closes the module with code and unwinds the guest's call, as proc_exit does.
func exit(ctx context.Context, mod api.Module, code uint32) {
	_ = mod.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}
