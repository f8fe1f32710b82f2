package engine

import (
	"sync"
	"time"
)

// Clock gives the engine its notion of now; a monotonic reading is expected.
//
// Expiry is decided only by comparing deadlines with Clock readings, so a
// test that injects a ManualClock controls expiry completely and never sleeps.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SystemClock returns the Clock backed by time.Now. Its readings carry Go's
// monotonic component, so a wall-clock step (NTP, a manual change) neither
// revives nor expires keys early.
func SystemClock() Clock { return systemClock{} }

// ManualClock is a Clock for tests: Now is fixed until Advance/Set. Safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock that reads start until it is moved.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current reading.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (or back, if d is negative).
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
