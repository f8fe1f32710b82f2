package engine

import "time"

// The expiry heap is a min-heap of the items that have a deadline, kept in
// Memory.expiries with each item's position in item.heapIdx so that an
// overwrite or delete can move or drop it in O(log n). It is what lets the
// full-store rule purge expired keys without scanning the whole store on
// every rejected write.

// setDeadlineLocked sets it's deadline (zero: none) and keeps the heap in step.
func (m *Memory) setDeadlineLocked(it *item, deadline time.Time) {
	it.expiresAt = deadline
	switch {
	case deadline.IsZero() && it.heapIdx >= 0:
		m.heapRemove(it.heapIdx)
	case deadline.IsZero():
	case it.heapIdx >= 0:
		m.heapFix(it.heapIdx)
	default:
		it.heapIdx = len(m.expiries)
		m.expiries = append(m.expiries, it)
		m.heapUp(it.heapIdx)
	}
}

func (m *Memory) heapLess(i, j int) bool {
	return m.expiries[i].expiresAt.Before(m.expiries[j].expiresAt)
}

func (m *Memory) heapSwap(i, j int) {
	h := m.expiries
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (m *Memory) heapUp(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !m.heapLess(j, i) {
			break
		}
		m.heapSwap(i, j)
		j = i
	}
}

// heapDown sifts i down and reports whether it moved.
func (m *Memory) heapDown(i int) bool {
	start, n := i, len(m.expiries)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && m.heapLess(r, l) {
			c = r
		}
		if !m.heapLess(c, i) {
			break
		}
		m.heapSwap(i, c)
		i = c
	}
	return i > start
}

func (m *Memory) heapFix(i int) {
	if !m.heapDown(i) {
		m.heapUp(i)
	}
}

func (m *Memory) heapRemove(i int) {
	last := len(m.expiries) - 1
	it := m.expiries[i]
	if i != last {
		m.heapSwap(i, last)
	}
	m.expiries[last] = nil
	m.expiries = m.expiries[:last]
	if i != last {
		m.heapFix(i)
	}
	it.heapIdx = -1
}
