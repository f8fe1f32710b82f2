package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmkv/wasmkv/abi"
)

// Script is one run's work.
type Script struct {
	// Module is the policy actor: the name the host gives the guest.
	Module string
	// Name is the chunk name in Lua error positions, usually the file name.
	Name string
	// Source is the Lua source.
	Source []byte
	// Guest runs another guest module instead of the Lua guest (see LoadGuest); it gets
	// Name and Args in its task, and no Source.
	Guest *Guest
	// LuaGuest names the built-in Lua guest for this run, GuestGopherLua or GuestPucLua,
	// over the module's config and the host's default.
	LuaGuest string
	// Args reach the script as its varargs (...).
	Args []string
	// Stdout and Stderr receive the guest's output (default: discarded).
	Stdout, Stderr io.Writer
	// Logger receives this run's denials and failures (default: the host's logger).
	Logger *slog.Logger
	// Timeout bounds the execution of the script (not the instance's creation). Zero
	// takes the module's configured timeout, else DefaultTimeout.
	Timeout time.Duration
	// MemoryLimit and OutputLimit override the module's configured limits when set.
	MemoryLimit, OutputLimit ByteSize

	// input and result are Call's: the script's first argument and where its first
	// return value goes.
	input  []byte
	result *[]byte
}

// limits resolves a run's limits: the script's, else the module's, else the defaults.
func (h *Host) limits(s *Script) (timeout time.Duration, memory, output ByteSize) {
	mc := h.cfg.Modules[s.Module]
	pick := func(vals ...ByteSize) ByteSize {
		for _, v := range vals {
			if v > 0 {
				return v
			}
		}
		return 0
	}
	timeout = s.Timeout
	if timeout == 0 {
		timeout = mc.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return timeout, pick(s.MemoryLimit, mc.MemoryLimit, h.opts.memory), pick(s.OutputLimit, mc.OutputLimit, DefaultOutputLimit)
}

// RunError is Error, the one error type, under the name that runs' errors had first: a
// run that failed because the script raised or returned an error, or the host stopped it.
type RunError = Error

func runError(e *abi.Error) *RunError { return e }

// run is Run, before the errors of starting a run are given kinds.
func (h *Host) run(ctx context.Context, s Script) error {
	if s.Module == "" {
		return errors.New("host: a script needs a module name")
	}
	if err := s.checkLimits(); err != nil {
		return err
	}
	timeout, memory, output := h.limits(&s)
	g := s.Guest
	if g == nil {
		var err error
		if g, err = h.guestFor(s.Module, s.LuaGuest); err != nil {
			return err
		}
	}
	p, err := h.poolFor(ctx, s.Module, g, memory, s.Guest == nil)
	if err != nil {
		if ctx.Err() != nil { // gave up waiting for the guest to compile
			return runError(abi.NewError(abi.Canceled, "script canceled before it started: "+context.Cause(ctx).Error()))
		}
		return err
	}
	// Creating the instance is not charged to the script's timeout, only to ctx.
	// Creating an instance runs the guest's _initialize, which a hostile guest may never
	// return from: it gets a bound of its own, apart from the script's.
	tctx, tcancel := context.WithTimeout(ctx, timeout+DefaultTimeout)
	pi, err := p.take(tctx)
	tcancel()
	if err != nil {
		if ctx.Err() != nil {
			return runError(abi.NewError(abi.Canceled, "script canceled before it started: "+context.Cause(ctx).Error()))
		}
		return err
	}
	inst := &instance{
		host:   h,
		module: s.Module,
		task: &abi.Task{Name: s.Name, Source: s.Source, Args: make([][]byte, len(s.Args)),
			MemoryLimit: int64(memory), Input: s.input, Result: s.result != nil},
		policy: h.countersFor(s.Module),
		log:    s.Logger,
	}
	if inst.log == nil {
		inst.log = h.log
	}
	for i, a := range s.Args {
		inst.task.Args[i] = []byte(a)
	}
	stderr := &oomWatcher{w: newLimitedWriter(orDiscard(s.Stderr), int64(output))}
	pi.stdout.set(newLimitedWriter(orDiscard(s.Stdout), int64(output)))
	pi.stderr.set(stderr)

	rctx, cancel := context.WithTimeout(context.WithValue(ctx, instanceKey{}, inst), timeout)
	rctx, unhurry := hurry(rctx, pi.mod) // see preempt.go
	_, callErr := pi.runFunc().Call(rctx)
	unhurry()
	cancel()
	inst.logDenialSummary()
	inst.releaseAll()
	pi.stdout.set(nil)
	pi.stderr.set(nil)
	// Only an instance whose run ended normally goes back: one that trapped, timed out,
	// hit its memory limit or lost a host call may be half-dead.
	p.put(pi, callErr == nil && inst.failed == nil && inst.finished)

	if err := inst.hostFailure(ctx, rctx, callErr, stderr, timeout, memory); err != nil {
		// A limit the host enforced, or a broken guest: the host logs what it stopped.
		inst.log.Warn("run stopped", "module", inst.module, "kind", err.Kind, "reason", cutText(err.Message, maxLoggedMessage))
		return err
	}
	if s.result != nil {
		*s.result = inst.output
	}
	if inst.result != nil {
		return runError(inst.result)
	}
	return nil
}

// hostFailure is the error of a run that the host ended, or that broke its contract:
// nil when the guest ran and reported its outcome.
func (inst *instance) hostFailure(ctx, rctx context.Context, callErr error, stderr *oomWatcher, timeout time.Duration, memory ByteSize) *RunError {
	switch {
	case inst.failed != nil:
		return runError(inst.failed)
	case callErr != nil && ctx.Err() == nil && (errors.Is(rctx.Err(), context.DeadlineExceeded) || stoppedPastDeadline(rctx, callErr)):
		return runError(abi.NewError(abi.Timeout, fmt.Sprintf("script exceeded its timeout of %v", timeout)))
	case callErr != nil && ctx.Err() != nil:
		return runError(abi.NewError(abi.Canceled, "script canceled: "+context.Cause(ctx).Error()))
	case callErr != nil:
		var exit *sys.ExitError
		if stderr.sawOOM() {
			return runError(abi.NewError(abi.Internal, fmt.Sprintf("memory limit exceeded (%v)", memory)))
		}
		if errors.As(callErr, &exit) {
			return runError(abi.NewError(abi.Internal, fmt.Sprintf("guest exited with code %d", exit.ExitCode())))
		}
		return runError(abi.NewError(abi.Internal, "guest trapped: "+callErr.Error()))
	case !inst.finished:
		return runError(abi.NewError(abi.Internal, "guest returned without reporting an outcome"))
	}
	return nil
}

// stoppedPastDeadline: the countdown stopped the run because the clock passed its
// deadline, and the context's own timer (due, but a busy machine may not have run it yet)
// has not fired. The deadline is checked too, so a guest's own proc_exit with the same
// code before its deadline stays an Internal failure.
func stoppedPastDeadline(rctx context.Context, callErr error) bool {
	var exit *sys.ExitError
	deadline, ok := rctx.Deadline()
	return ok && errors.As(callErr, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded && !time.Now().Before(deadline)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

type instanceKey struct{}

func instanceFrom(ctx context.Context) (*instance, bool) {
	inst, ok := ctx.Value(instanceKey{}).(*instance)
	return inst, ok
}

// instance is the host's state for one guest instance during one run. Host functions
// of one instance are never called concurrently (a guest is single-threaded), so it
// needs no lock.
type instance struct {
	host    *Host
	module  string
	task    *abi.Task
	policy  *PolicyCounters
	log     *slog.Logger
	denials denials
	handles []handleSlot
	free    []int // released slots, reused by later opens
	pending []byte

	finished bool
	result   *abi.Error // the script's failure, as the guest reported it
	output   []byte     // the script's first return value, when the task asked for it
	failed   *abi.Error // a failure of the host side, which overrides the guest's report
}

func (inst *instance) fail(e *abi.Error) {
	if inst.failed == nil {
		inst.failed = e
	}
}

// releaseAll drops every handle the run still holds.
func (inst *instance) releaseAll() {
	inst.handles, inst.free = nil, nil
}
