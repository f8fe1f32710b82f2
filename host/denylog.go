package host

import (
	"fmt"
	"sync"
	"time"

	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/policy"
)

// A guest decides how often it is denied and how long the keys and ids it is denied on
// are, so the log lines a denial writes are bounded three ways: each value a guest chose
// is cut to logFieldMax bytes (with its length), a run logs its first denyLogPerRun
// denials and then one summary line with the count at its end, and all runs of a host
// share a token bucket, so that many short runs cannot flood the log either.
const (
	logFieldMax = 64
	// maxLoggedMessage bounds the reason of a "run stopped" line.
	maxLoggedMessage = 1024
	denyLogPerRun    = 10
	denyLogBurst     = 100
	denyLogRate      = 10 // lines per second, refilled
)

// logField cuts a guest-chosen key, prefix or id for a log line.
func logField(s string) string { return cutText(s, logFieldMax) }

// cutText cuts s to max bytes, and says so with s's length.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return fmt.Sprintf("%s… [truncated, %d bytes]", s[:max], len(s))
}

// logBucket is a token bucket of log lines, shared by the runs of one host.
type logBucket struct {
	mu     sync.Mutex
	clock  engine.Clock
	tokens float64
	last   time.Time
}

func newLogBucket(clock engine.Clock) *logBucket {
	return &logBucket{clock: clock, tokens: denyLogBurst, last: clock.Now()}
}

// take spends one token, if there is one.
func (b *logBucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(denyLogBurst, b.tokens+d.Seconds()*denyLogRate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// denials counts one run's denials and how many of them were logged.
type denials struct {
	total, logged int
}

// logDenial logs a denial if the run and the host still have room for it.
func (inst *instance) logDenial(r policy.Request, decidedBy string) {
	inst.denials.total++
	if inst.denials.logged >= denyLogPerRun || !inst.host.logBucket.take() {
		return
	}
	inst.denials.logged++
	inst.log.Info("permission denied", "module", r.Module, "action", r.Action,
		"resource", logField(r.Resource), "key", logField(r.Key), "prefix", logField(r.Prefix), "policy", decidedBy)
}

// logDenialSummary ends a run that had denials not logged with one line that counts
// them. The line takes a token too; when there is none, its count waits in the host for
// the next summary that is logged, so many short runs cannot flood the log either.
func (inst *instance) logDenialSummary() {
	n := inst.denials.total - inst.denials.logged
	if n == 0 {
		return
	}
	h := inst.host
	if !h.logBucket.take() {
		h.unloggedDenials.Add(uint64(n))
		return
	}
	inst.log.Info("permission denials not logged", "module", inst.module,
		"denied", inst.denials.total, "not_logged", n, "not_logged_earlier_runs", h.unloggedDenials.Swap(0))
}
