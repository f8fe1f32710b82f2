package engine

import "time"

// The expiry heap lets the full-store rule and the sweeper find expired keys
// without scanning the store. It is a min-heap of deadlines with lazy
// deletion: a write or delete never searches the heap, it only makes the
// old entry stale (the entry remembers the version it was made for, and
// every write changes the item's version). Stale entries are dropped when
// they reach the top, or all at once when they outnumber the live ones.
//
// The eager alternative (an index in each item, fixed on every write) costs
// a sift through the heap on each overwrite with a ttl; since a refreshed
// deadline is almost always the latest one, a push here stops after one
// comparison instead. Deadlines are stored inline so sifts compare
// neighbouring memory rather than chase item pointers.

type deadline struct {
	at      int64  // nanoseconds from Memory.base to the item's deadline, on the engine clock
	version uint64 // the item's version when the deadline was set
	it      *item
}

// compactSlack is how many stale entries the heap tolerates beyond one per
// live deadline before it is rebuilt; it keeps tiny stores from compacting
// on every write.
const compactSlack = 64

// current reports whether d is still the deadline of a stored item: a later
// write, or removal (which zeroes the version), makes it stale.
func (d deadline) current() bool { return d.it.version == d.version }

// pushDeadlineLocked records it's deadline, which it.expiresAt already holds.
func (m *Memory) pushDeadlineLocked(it *item) {
	if len(m.expiries) >= 2*m.timed+compactSlack {
		m.compactDeadlinesLocked()
	}
	m.expiries = append(m.expiries, deadline{at: int64(it.expiresAt.Sub(m.base)), version: it.version, it: it})
	m.heapUp(len(m.expiries) - 1)
}

// compactDeadlinesLocked drops every stale entry and re-heapifies, in O(n).
func (m *Memory) compactDeadlinesLocked() {
	live := m.expiries[:0]
	for _, d := range m.expiries {
		if d.current() {
			live = append(live, d)
		}
	}
	clear(m.expiries[len(live):]) // let removed items be collected
	m.expiries = live
	for i := len(live)/2 - 1; i >= 0; i-- {
		m.heapDown(i)
	}
}

// purgeExpiredLocked frees keys expired at now, earliest deadline first, and
// returns how many it freed. It stops after limit heap entries (stale ones
// included) when limit >= 0, so a sweep can release the lock in between.
func (m *Memory) purgeExpiredLocked(now time.Time, limit int) (freed, popped int) {
	for len(m.expiries) > 0 && popped != limit {
		top := m.expiries[0]
		if top.current() {
			if !top.it.expired(now) {
				break
			}
			m.removeLocked(top.it)
			freed++
		}
		m.heapPop()
		popped++
	}
	return freed, popped
}

func (m *Memory) heapPop() {
	last := len(m.expiries) - 1
	m.expiries[0] = m.expiries[last]
	m.expiries[last] = deadline{}
	m.expiries = m.expiries[:last]
	if last > 0 {
		m.heapDown(0)
	}
}

func (m *Memory) heapUp(j int) {
	h := m.expiries
	d := h[j]
	for j > 0 {
		i := (j - 1) / 2
		if h[i].at <= d.at {
			break
		}
		h[j] = h[i]
		j = i
	}
	h[j] = d
}

func (m *Memory) heapDown(i int) {
	h := m.expiries
	n := len(h)
	d := h[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r].at < h[c].at {
			c = r
		}
		if d.at <= h[c].at {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = d
}
