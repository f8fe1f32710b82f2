package host

import (
	"context"
	"errors"

	"github.com/wasmkv/wasmkv/abi"
)

// Error is the one error type of the Go API, the one scripts see too: a Kind, a message
// naming the problem, and whether retrying may succeed. Run returns it for every run
// that failed, and Store's methods for every operation that failed. Match a kind with
// errors.Is(err, abi.NotFound), or read all three fields with errors.As:
//
//	var e *host.Error
//	if errors.As(err, &e) && e.Retryable { ... }
type Error = abi.Error

// startError gives a kind to a failure to start a run: its limits are out of range,
// or creating its instance was canceled, took too long, or failed (a guest whose start
// traps or whose imports this host lacks).
func startError(err error) *Error {
	var e *Error
	var ce *ConfigError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &ce): // a Script's limits out of their ranges
		return abi.NewError(abi.Invalid, ce.Msg)
	case errors.Is(err, context.Canceled):
		return abi.NewError(abi.Canceled, "script canceled before it started: "+err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return abi.NewError(abi.Timeout, "script timed out before it started: "+err.Error())
	}
	return abi.NewError(abi.Internal, "could not start the guest: "+err.Error())
}

// Run runs a script in a new sandboxed instance and waits for it to finish. Every error
// is an *Error: the script's own (raised, or returned as nil, err), Timeout when its
// timeout was hit, Canceled when ctx was, Internal when the host stopped a guest that
// broke a limit or its contract, Invalid for a script without a module or with limits
// out of their ranges.
func (h *Host) Run(ctx context.Context, s Script) error {
	if s.Module == "" {
		return abi.NewError(abi.Invalid, "a script needs a module name")
	}
	if err := h.run(ctx, s); err != nil {
		return startError(err)
	}
	return nil
}
