package serve

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// limiter bounds one module's concurrent runs, with a bounded queue in front: a request
// that finds every slot taken waits in the queue, and one that finds the queue full is
// refused at once, so a slow or hostile module holds at most its own slots and queue.
type limiter struct {
	slots    chan struct{}
	queued   atomic.Int64
	maxQueue int64
	conc     int // what it was built with, to keep it across a reload
}

var (
	errQueueFull    = errors.New("queue full")
	errQueueTimeout = errors.New("waited too long in the queue")
)

func newLimiter(conc, queue int) *limiter {
	return &limiter{slots: make(chan struct{}, conc), maxQueue: int64(queue), conc: conc}
}

// acquire takes a slot, waiting in the queue at most wait. Call release after.
func (l *limiter) acquire(ctx context.Context, wait time.Duration) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if l.queued.Add(1) > l.maxQueue {
		l.queued.Add(-1)
		return errQueueFull
	}
	defer l.queued.Add(-1)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errQueueTimeout
	}
}

func (l *limiter) release() { <-l.slots }
