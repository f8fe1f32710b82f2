package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManualClock(t *testing.T) {
	c := NewManualClock(epoch)
	assert.Equal(t, epoch, c.Now())
	assert.Equal(t, epoch, c.Now(), "time stands still until moved")
	c.Advance(1500 * time.Millisecond)
	assert.Equal(t, epoch.Add(1500*time.Millisecond), c.Now())
	later := epoch.Add(time.Hour)
	c.Set(later)
	assert.Equal(t, later, c.Now())

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, later.Add(800*time.Millisecond), c.Now())
}

func TestSystemClockIsMonotonic(t *testing.T) {
	c := SystemClock()
	a := c.Now()
	b := c.Now()
	assert.False(t, b.Before(a))
	// The monotonic reading shows up in String as "m=".
	assert.Contains(t, a.String(), "m=")
}

func TestSweepFreesExpiredEntries(t *testing.T) {
	tests := []struct {
		name      string
		expiring  int
		forever   int
		advance   time.Duration
		wantFreed int
	}{
		{"nothing expired yet", 10, 5, time.Second - time.Millisecond, 0},
		{"expired at the deadline", 10, 5, time.Second, 10},
		{"more than one batch", 3*sweepBatch + 17, 5, time.Hour, 3*sweepBatch + 17},
		{"empty store", 0, 0, time.Hour, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newMem(t, MemoryOptions{MaxSize: 100000})
			for i := range tc.expiring {
				mustSet(t, m, fmt.Sprintf("e%05d", i), "v", time.Second)
			}
			for i := range tc.forever {
				mustSet(t, m, fmt.Sprintf("f%05d", i), "v", 0)
			}
			clk.Advance(tc.advance)
			assert.Equal(t, tc.wantFreed, m.sweep())
			assert.Equal(t, tc.expiring+tc.forever-tc.wantFreed, m.Len())
			assert.Equal(t, m.Len(), m.index.len(), "the index shrinks with the map")
			assert.Equal(t, 0, m.sweep(), "a second sweep finds nothing")
		})
	}
}

// TestSweepFollowsDeadlines mixes random ttls, overwrites and deletes, then
// walks the clock forward: after each sweep exactly the keys whose deadline
// has passed are gone. Overwrites and deletes leave stale heap entries behind,
// so this also exercises their dropping and the heap's compaction.
func TestSweepFollowsDeadlines(t *testing.T) {
	ctx := context.Background()
	m, clk := newMem(t, MemoryOptions{MaxSize: 100000})
	rng := rand.New(rand.NewPCG(7, 7))
	deadline := map[string]time.Time{} // zero: no expiry
	for i := range 3000 {
		k := fmt.Sprintf("k%04d", rng.IntN(1000))
		switch {
		case i%10 == 0:
			_, err := m.Delete(ctx, k)
			require.NoError(t, err)
			delete(deadline, k)
		default:
			ttl := time.Duration(rng.IntN(100)) * time.Second // 0: none
			mustSet(t, m, k, "v", ttl)
			deadline[k] = time.Time{}
			if ttl > 0 {
				deadline[k] = clk.Now().Add(ttl)
			}
		}
	}
	for step := range 101 {
		if step > 0 {
			clk.Advance(time.Second)
		}
		m.sweep()
		now := clk.Now()
		want := 0
		for k, d := range deadline {
			alive := d.IsZero() || now.Before(d)
			if alive {
				want++
			}
			m.mu.RLock()
			_, stored := m.items[k]
			m.mu.RUnlock()
			require.Equal(t, alive, stored, "key %s at step %d", k, step)
		}
		require.Equal(t, want, m.Len())
		checkExpiryHeap(t, m)
	}
}

// checkExpiryHeap verifies the heap order, that every stored item with a
// deadline has exactly one current entry, and that stale entries stay bounded.
func checkExpiryHeap(t *testing.T, m *Memory) {
	t.Helper()
	m.mu.RLock()
	defer m.mu.RUnlock()
	current := map[*item]int{}
	for i, d := range m.expiries {
		if i > 0 {
			require.LessOrEqual(t, m.expiries[(i-1)/2].at, d.at, "heap order at %d", i)
		}
		if d.current() {
			current[d.it]++
			require.Equal(t, int64(d.it.expiresAt.Sub(m.base)), d.at)
		}
	}
	timed := 0
	for _, it := range m.items {
		if !it.expiresAt.IsZero() {
			timed++
			require.Equal(t, 1, current[it], "key %s has one current deadline", it.key)
		}
	}
	require.Len(t, current, timed)
	require.Equal(t, timed, m.timed)
	require.LessOrEqual(t, len(m.expiries), 2*m.timed+compactSlack)
}

func TestExpiryHeapStaysBounded(t *testing.T) {
	tests := []struct {
		name  string
		write func(m *Memory, i int)
	}{
		{"overwrites with a long ttl", func(m *Memory, i int) {
			_ = m.Set(context.Background(), fmt.Sprintf("k%d", i%10), []byte("v"), time.Hour)
		}},
		{"ttl cleared by a plain set", func(m *Memory, i int) {
			k := fmt.Sprintf("k%d", i%10)
			_ = m.Set(context.Background(), k, []byte("v"), time.Hour)
			_ = m.Set(context.Background(), k, []byte("v"), 0)
		}},
		{"deleted keys", func(m *Memory, i int) {
			k := fmt.Sprintf("k%d", i)
			_ = m.Set(context.Background(), k, []byte("v"), time.Hour)
			_, _ = m.Delete(context.Background(), k)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newMem(t, MemoryOptions{})
			for i := range 10000 {
				tc.write(m, i)
			}
			checkExpiryHeap(t, m)
			assert.Less(t, len(m.expiries), 2*compactSlack+20, "stale entries are compacted away")
		})
	}
}

func TestSweeperRunsOnItsTicker(t *testing.T) {
	clk := NewManualClock(epoch)
	m, err := NewMemory(MemoryOptions{CleanupInterval: time.Millisecond, Clock: clk})
	require.NoError(t, err)
	defer m.Close()
	mustSet(t, m, "k", "v", time.Second)
	clk.Advance(time.Second)
	// Real time passes here only for the ticker; expiry itself was decided by
	// the manual clock above.
	require.Eventually(t, func() bool { return m.Len() == 0 }, 5*time.Second, time.Millisecond)
}

func TestCloseStopsTheSweeper(t *testing.T) {
	m, err := NewMemory(MemoryOptions{CleanupInterval: time.Millisecond})
	require.NoError(t, err)
	select {
	case <-m.done:
		t.Fatal("sweeper exited before Close")
	default:
	}
	require.NoError(t, m.Close())
	select {
	case <-m.done: // Close waits for the goroutine, so it is gone by now
	default:
		t.Fatal("sweeper still running after Close")
	}
	require.NoError(t, m.Close(), "Close is idempotent")

	// Concurrent Closes neither panic nor return before the sweeper is gone.
	m2, err := NewMemory(MemoryOptions{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			assert.NoError(t, m2.Close())
			select {
			case <-m2.done:
			default:
				t.Error("Close returned before the sweeper exited")
			}
		})
	}
	wg.Wait()

	// A closed engine still serves: releasing the store is the layer above's call.
	mustSet(t, m, "k", "v", 0)
	v, ok := getValue(t, m, "k")
	assert.True(t, ok)
	assert.Equal(t, "v", v)
}

// TestConcurrentMixedOperations is for the race detector: every operation at
// once, on overlapping keys, in both eviction modes, with the clock moving and
// the sweeper running.
func TestConcurrentMixedOperations(t *testing.T) {
	for _, eviction := range []string{"none", "lru"} {
		t.Run(eviction, func(t *testing.T) {
			ctx := context.Background()
			m, clk := newMem(t, MemoryOptions{MaxSize: 64, Eviction: eviction})
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for i := range 2000 {
						k := fmt.Sprintf("k%03d", rng.IntN(100))
						var err error
						switch rng.IntN(9) {
						case 0:
							err = m.Set(ctx, k, []byte("v"), time.Duration(rng.IntN(3))*time.Millisecond)
						case 1:
							_, _, err = m.Get(ctx, k)
						case 2:
							_, err = m.Has(ctx, k)
						case 3:
							_, err = m.Delete(ctx, k)
						case 4:
							_, err = m.Put(ctx, k, []byte("p"), PutOptions{OnlyIfAbsent: true})
						case 5:
							_, err = m.Update(ctx, k, func(cur Entry, _ bool) ([]byte, time.Duration, error) {
								return append(cur.Value[:len(cur.Value):len(cur.Value)], 'u'), 0, nil
							})
						case 6:
							_, err = m.List(ctx, ListOptions{Prefix: "k0", After: k, Limit: 5})
						case 7:
							m.sweep()
							_ = m.Len()
						case 8:
							if i%50 == 0 {
								clk.Advance(time.Millisecond)
							}
						}
						if err == ErrFull || err == ErrExists {
							err = nil
						}
						assert.NoError(t, err)
					}
				})
			}
			wg.Wait()
			assert.LessOrEqual(t, m.Len(), 64, "the store never grows past MaxSize")
			m.mu.RLock()
			defer m.mu.RUnlock()
			assert.Equal(t, len(m.items), m.index.len())
			if eviction == "lru" {
				n := 0
				for it := m.lruHead.next; it != &m.lruHead; it = it.next {
					n++
				}
				assert.Equal(t, len(m.items), n, "every item is on the LRU list exactly once")
			}
		})
	}
}
