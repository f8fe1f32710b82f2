package host

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// TestStoppedPastDeadline: a run the countdown stopped at its deadline is a timeout even
// when the context's timer has not fired yet (a busy machine), and a guest that exits
// with the same code before its deadline is not.
func TestStoppedPastDeadline(t *testing.T) {
	deadlineErr := sys.NewExitError(sys.ExitCodeDeadlineExceeded)
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	future, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(time.Hour))
	defer cancel2()
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"deadline passed, deadline code", past, deadlineErr, true},
		{"deadline ahead, deadline code", future, deadlineErr, false},
		{"no deadline", context.Background(), deadlineErr, false},
		{"deadline passed, other exit code", past, sys.NewExitError(3), false},
		{"deadline passed, not an exit", past, errors.New("trap"), false},
	}
	for _, c := range cases {
		if got := stoppedPastDeadline(c.ctx, c.err); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
