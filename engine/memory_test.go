package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newMem returns a memory engine on a ManualClock, closed when the test ends.
func newMem(t testing.TB, opts MemoryOptions) (*Memory, *ManualClock) {
	t.Helper()
	clk := NewManualClock(epoch)
	if opts.Clock == nil {
		opts.Clock = clk
	}
	m, err := NewMemory(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m, clk
}

func mustSet(t testing.TB, m Engine, key, value string, ttl time.Duration) {
	t.Helper()
	require.NoError(t, m.Set(context.Background(), key, []byte(value), ttl))
}

func getValue(t testing.TB, m Engine, key string) (string, bool) {
	t.Helper()
	e, ok, err := m.Get(context.Background(), key)
	require.NoError(t, err)
	return string(e.Value), ok
}

func keysOf(p Page) []string {
	keys := make([]string, 0, len(p.Items))
	for _, e := range p.Items {
		keys = append(keys, e.Key)
	}
	return keys
}

func TestNewMemoryOptions(t *testing.T) {
	tests := []struct {
		name     string
		opts     MemoryOptions
		wantErr  bool
		wantMax  int
		wantIntv time.Duration
		wantLRU  bool
	}{
		{name: "defaults", wantMax: 10000, wantIntv: 5 * time.Minute},
		{name: "none spelled out", opts: MemoryOptions{Eviction: "none"}, wantMax: 10000, wantIntv: 5 * time.Minute},
		{name: "lru", opts: MemoryOptions{Eviction: "lru", MaxSize: 3, CleanupInterval: time.Second}, wantMax: 3, wantIntv: time.Second, wantLRU: true},
		{name: "unknown eviction", opts: MemoryOptions{Eviction: "lfu"}, wantErr: true},
		{name: "upper-case eviction is not accepted", opts: MemoryOptions{Eviction: "LRU"}, wantErr: true},
		{name: "negative size", opts: MemoryOptions{MaxSize: -1}, wantErr: true},
		{name: "negative interval", opts: MemoryOptions{CleanupInterval: -time.Second}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMemory(tc.opts)
			if tc.wantErr {
				require.Error(t, err)
				require.Nil(t, m)
				return
			}
			require.NoError(t, err)
			defer m.Close()
			assert.Equal(t, tc.wantMax, m.maxSize)
			assert.Equal(t, tc.wantIntv, m.interval)
			assert.Equal(t, tc.wantLRU, m.lru)
			assert.NotNil(t, m.clock)
		})
	}
}

func TestInfo(t *testing.T) {
	m, _ := newMem(t, MemoryOptions{})
	assert.Equal(t, Info{
		Backend: "MEMORY", Consistency: "LINEARIZABLE", Durable: false,
		List: true, Versioned: true, ConditionalPut: true, TTL: true,
	}, m.Info())
}

// TestExpiryIsExact checks every read path at one millisecond before the
// deadline (visible) and at the deadline itself (already gone).
func TestExpiryIsExact(t *testing.T) {
	ctx := context.Background()
	const ttl = 1500 * time.Millisecond
	tests := []struct {
		name  string
		check func(t *testing.T, m *Memory) bool // reports whether the key looked live
	}{
		{"get", func(t *testing.T, m *Memory) bool { _, ok := getValue(t, m, "k"); return ok }},
		{"has", func(t *testing.T, m *Memory) bool {
			ok, err := m.Has(ctx, "k")
			require.NoError(t, err)
			return ok
		}},
		{"list", func(t *testing.T, m *Memory) bool {
			p, err := m.List(ctx, ListOptions{Limit: 10})
			require.NoError(t, err)
			return len(p.Items) == 1
		}},
		{"update sees exists", func(t *testing.T, m *Memory) bool {
			var existed bool
			_, err := m.Update(ctx, "k", func(cur Entry, exists bool) ([]byte, time.Duration, error) {
				existed = exists
				return nil, 0, errors.New("no write")
			})
			require.Error(t, err)
			return existed
		}},
		{"put only-if-absent", func(t *testing.T, m *Memory) bool {
			_, err := m.Put(ctx, "k", []byte("new"), PutOptions{OnlyIfAbsent: true})
			if err == nil {
				return false
			}
			require.ErrorIs(t, err, ErrExists)
			return true
		}},
		{"delete", func(t *testing.T, m *Memory) bool {
			ok, err := m.Delete(ctx, "k")
			require.NoError(t, err)
			return ok
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newMem(t, MemoryOptions{})
			mustSet(t, m, "k", "v", ttl)
			e, ok, err := m.Get(ctx, "k")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, epoch.Add(ttl), e.ExpiresAt)

			clk.Advance(ttl - time.Millisecond)
			require.True(t, tc.check(t, m), "one millisecond before the deadline the key is live")
			if tc.name == "delete" {
				mustSet(t, m, "k", "v", time.Millisecond) // delete removed it: put back the same deadline
			}
			clk.Advance(time.Millisecond)
			require.False(t, tc.check(t, m), "at the deadline the key is gone")
		})
	}
}

func TestSetReplacesValueAndTTL(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		firstTTL   time.Duration
		secondTTL  time.Duration
		advance    time.Duration // after the overwrite, which happens 5s in
		wantLive   bool
		wantExpiry time.Duration // from epoch; 0: none
	}{
		{"overwrite restarts the ttl", 10 * time.Second, 10 * time.Second, 9 * time.Second, true, 15 * time.Second},
		{"restarted ttl still ends", 10 * time.Second, 10 * time.Second, 10 * time.Second, false, 15 * time.Second},
		{"shorter ttl wins", 10 * time.Second, time.Second, time.Second, false, 6 * time.Second},
		{"set without ttl clears expiry", 10 * time.Second, 0, 1000 * time.Hour, true, 0},
		{"negative ttl means none", 10 * time.Second, -time.Second, 1000 * time.Hour, true, 0},
		{"ttl added to a key that had none", 0, 2 * time.Second, 2 * time.Second, false, 7 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newMem(t, MemoryOptions{})
			mustSet(t, m, "k", "old", tc.firstTTL)
			clk.Advance(5 * time.Second)
			mustSet(t, m, "k", "new", tc.secondTTL)
			e, ok, err := m.Get(ctx, "k")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, "new", string(e.Value))
			if tc.wantExpiry == 0 {
				assert.True(t, e.ExpiresAt.IsZero())
			} else {
				assert.Equal(t, epoch.Add(tc.wantExpiry), e.ExpiresAt)
			}
			clk.Advance(tc.advance)
			_, ok = getValue(t, m, "k")
			assert.Equal(t, tc.wantLive, ok)
		})
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(m *Memory, clk *ManualClock)
		want    bool
		wantLen int
	}{
		{"live key", func(m *Memory, _ *ManualClock) { _ = m.Set(ctx, "k", []byte("v"), 0) }, true, 0},
		{"absent key", func(*Memory, *ManualClock) {}, false, 0},
		{"expired key is freed but reported absent", func(m *Memory, clk *ManualClock) {
			_ = m.Set(ctx, "k", []byte("v"), time.Second)
			clk.Advance(time.Second)
		}, false, 0},
		{"other keys stay", func(m *Memory, _ *ManualClock) {
			_ = m.Set(ctx, "k", []byte("v"), 0)
			_ = m.Set(ctx, "other", []byte("v"), 0)
		}, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newMem(t, MemoryOptions{})
			tc.setup(m, clk)
			got, err := m.Delete(ctx, "k")
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantLen, m.Len())
			again, err := m.Delete(ctx, "k")
			require.NoError(t, err)
			assert.False(t, again, "a second delete finds nothing")
			_, ok := getValue(t, m, "k")
			assert.False(t, ok)
		})
	}
}

func TestHas(t *testing.T) {
	ctx := context.Background()
	m, clk := newMem(t, MemoryOptions{})
	mustSet(t, m, "forever", "v", 0)
	mustSet(t, m, "brief", "v", time.Second)
	tests := []struct {
		key     string
		advance time.Duration
		want    bool
	}{
		{"forever", 0, true},
		{"brief", 0, true},
		{"absent", 0, false},
		{"brief", time.Second, false},
		{"forever", 0, true},
	}
	for _, tc := range tests {
		clk.Advance(tc.advance)
		got, err := m.Has(ctx, tc.key)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, tc.key)
	}
	assert.Equal(t, 2, m.Len(), "has never frees an expired key")
}

func TestFullStoreWithEvictionNone(t *testing.T) {
	ctx := context.Background()
	setNew := func(m *Memory) error { return m.Set(ctx, "new", []byte("v"), 0) }
	putNew := func(m *Memory) error {
		_, err := m.Put(ctx, "new", []byte("v"), PutOptions{OnlyIfAbsent: true})
		return err
	}
	updNew := func(m *Memory) error {
		_, err := m.Update(ctx, "new", func(Entry, bool) ([]byte, time.Duration, error) { return []byte("v"), 0, nil })
		return err
	}
	writes := map[string]func(*Memory) error{"set": setNew, "put": putNew, "update": updNew}

	tests := []struct {
		name    string
		setup   func(t *testing.T, m *Memory, clk *ManualClock)
		wantErr error
		wantLen int
	}{
		{"full of live keys", func(t *testing.T, m *Memory, _ *ManualClock) {
			mustSet(t, m, "a", "1", 0)
			mustSet(t, m, "b", "2", time.Hour)
			mustSet(t, m, "c", "3", 0)
		}, ErrFull, 3},
		{"an expired key is purged first", func(t *testing.T, m *Memory, clk *ManualClock) {
			mustSet(t, m, "a", "1", 0)
			mustSet(t, m, "b", "2", time.Second)
			mustSet(t, m, "c", "3", 0)
			clk.Advance(time.Second)
		}, nil, 3},
		{"a deleted key frees its slot", func(t *testing.T, m *Memory, _ *ManualClock) {
			mustSet(t, m, "a", "1", 0)
			mustSet(t, m, "b", "2", 0)
			mustSet(t, m, "c", "3", 0)
			_, err := m.Delete(ctx, "b")
			require.NoError(t, err)
		}, nil, 3},
		{"expiry not reached yet", func(t *testing.T, m *Memory, clk *ManualClock) {
			mustSet(t, m, "a", "1", 0)
			mustSet(t, m, "b", "2", time.Second)
			mustSet(t, m, "c", "3", 0)
			clk.Advance(time.Second - time.Millisecond)
		}, ErrFull, 3},
	}
	for _, tc := range tests {
		for wname, write := range writes {
			t.Run(tc.name+"/"+wname, func(t *testing.T) {
				m, clk := newMem(t, MemoryOptions{MaxSize: 3})
				tc.setup(t, m, clk)
				err := write(m)
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
					_, ok := getValue(t, m, "new")
					assert.False(t, ok)
				} else {
					require.NoError(t, err)
					v, ok := getValue(t, m, "new")
					assert.True(t, ok)
					assert.Equal(t, "v", v)
				}
				assert.Equal(t, tc.wantLen, m.Len())
			})
		}
	}

	t.Run("overwrite in a full store always works", func(t *testing.T) {
		m, clk := newMem(t, MemoryOptions{MaxSize: 2})
		mustSet(t, m, "a", "1", 0)
		mustSet(t, m, "b", "2", time.Second)
		require.ErrorIs(t, setNew(m), ErrFull)
		mustSet(t, m, "a", "1b", 0)
		_, err := m.Put(ctx, "a", []byte("1c"), PutOptions{})
		require.NoError(t, err)
		_, err = m.Update(ctx, "a", func(Entry, bool) ([]byte, time.Duration, error) { return []byte("1d"), 0, nil })
		require.NoError(t, err)
		v, _ := getValue(t, m, "a")
		assert.Equal(t, "1d", v)
		// Re-creating an expired key reuses its slot: it is not a new key
		// for the store, even though it is for the caller.
		clk.Advance(time.Second)
		mustSet(t, m, "b", "2b", 0)
		assert.Equal(t, 2, m.Len())
	})
}

func TestLRUEviction(t *testing.T) {
	ctx := context.Background()
	type op struct {
		kind string // set, get, put, update, has, list, delete
		key  string
	}
	tests := []struct {
		name      string
		ops       []op // run on a store of size 3 that already holds a, b, c (set in that order)
		wantGone  []string
		wantAlive []string
	}{
		{"oldest write goes first", []op{{"set", "d"}}, []string{"a"}, []string{"b", "c", "d"}},
		{"get refreshes", []op{{"get", "a"}, {"set", "d"}}, []string{"b"}, []string{"a", "c", "d"}},
		{"set refreshes", []op{{"set", "a"}, {"set", "d"}}, []string{"b"}, []string{"a", "c", "d"}},
		{"put refreshes", []op{{"put", "a"}, {"set", "d"}}, []string{"b"}, []string{"a", "c", "d"}},
		{"update refreshes", []op{{"update", "a"}, {"set", "d"}}, []string{"b"}, []string{"a", "c", "d"}},
		{"has does not refresh", []op{{"has", "a"}, {"set", "d"}}, []string{"a"}, []string{"b", "c", "d"}},
		{"list does not refresh", []op{{"list", ""}, {"set", "d"}}, []string{"a"}, []string{"b", "c", "d"}},
		{"evictions follow recency", []op{{"get", "a"}, {"get", "b"}, {"set", "d"}, {"set", "e"}}, []string{"c", "a"}, []string{"b", "d", "e"}},
		{"a delete frees a slot without evicting", []op{{"delete", "b"}, {"set", "d"}}, []string{"b"}, []string{"a", "c", "d"}},
		{"a new key via put evicts", []op{{"put", "d"}}, []string{"a"}, []string{"b", "c", "d"}},
		{"a new key via update evicts", []op{{"update", "d"}}, []string{"a"}, []string{"b", "c", "d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newMem(t, MemoryOptions{MaxSize: 3, Eviction: "lru"})
			for _, k := range []string{"a", "b", "c"} {
				mustSet(t, m, k, k, 0)
			}
			for _, o := range tc.ops {
				var err error
				switch o.kind {
				case "set":
					err = m.Set(ctx, o.key, []byte(o.key), 0)
				case "get":
					_, _, err = m.Get(ctx, o.key)
				case "put":
					_, err = m.Put(ctx, o.key, []byte(o.key), PutOptions{})
				case "update":
					_, err = m.Update(ctx, o.key, func(Entry, bool) ([]byte, time.Duration, error) { return []byte(o.key), 0, nil })
				case "has":
					_, err = m.Has(ctx, o.key)
				case "list":
					_, err = m.List(ctx, ListOptions{Limit: 10})
				case "delete":
					_, err = m.Delete(ctx, o.key)
				}
				require.NoError(t, err, "%s %s", o.kind, o.key)
			}
			for _, k := range tc.wantGone {
				ok, err := m.Has(ctx, k)
				require.NoError(t, err)
				assert.False(t, ok, "%s should be gone", k)
			}
			for _, k := range tc.wantAlive {
				ok, err := m.Has(ctx, k)
				require.NoError(t, err)
				assert.True(t, ok, "%s should be alive", k)
			}
			assert.LessOrEqual(t, m.Len(), 3)
		})
	}

	t.Run("expired keys are purged before a live key is evicted", func(t *testing.T) {
		m, clk := newMem(t, MemoryOptions{MaxSize: 3, Eviction: "lru"})
		mustSet(t, m, "a", "a", 0)
		mustSet(t, m, "b", "b", 0)
		mustSet(t, m, "c", "c", time.Second) // most recent, but expiring
		clk.Advance(time.Second)
		mustSet(t, m, "d", "d", 0)
		for _, k := range []string{"a", "b", "d"} {
			_, ok := getValue(t, m, k)
			assert.True(t, ok, k)
		}
		assert.Equal(t, 3, m.Len())
	})
}

func TestVersions(t *testing.T) {
	ctx := context.Background()
	m, clk := newMem(t, MemoryOptions{})
	seen := map[uint64]string{}
	record := func(e Entry) {
		t.Helper()
		require.NotZero(t, e.Version)
		prev, dup := seen[e.Version]
		require.False(t, dup, "version %d reused (first by %s)", e.Version, prev)
		seen[e.Version] = e.Key
	}
	version := func(key string) Entry {
		e, ok, err := m.Get(ctx, key)
		require.NoError(t, err)
		require.True(t, ok)
		return e
	}

	mustSet(t, m, "k", "1", 0)
	first := version("k")
	record(first)
	mustSet(t, m, "k", "1", 0) // same value: still a write
	record(version("k"))
	_, err := m.Delete(ctx, "k")
	require.NoError(t, err)
	mustSet(t, m, "k", "1", 0)
	recreated := version("k")
	record(recreated)
	assert.NotEqual(t, first.Version, recreated.Version, "delete and re-create gives a new version")

	e, err := m.Put(ctx, "k", []byte("2"), PutOptions{})
	require.NoError(t, err)
	record(e)
	e, err = m.Update(ctx, "k", func(cur Entry, _ bool) ([]byte, time.Duration, error) { return cur.Value, 0, nil })
	require.NoError(t, err)
	record(e)
	mustSet(t, m, "k", "x", time.Second) // expire and re-create
	record(version("k"))
	clk.Advance(time.Second)
	mustSet(t, m, "k", "y", 0)
	record(version("k"))
	mustSet(t, m, "other", "y", 0)
	record(version("other"))
	// Reads do not write.
	assert.Equal(t, version("k").Version, version("k").Version)
}

func TestPut(t *testing.T) {
	ctx := context.Background()
	type state int
	const (
		absent state = iota
		live
		expired
	)
	tests := []struct {
		name    string
		state   state
		opts    func(curVersion uint64) PutOptions
		wantErr error
		anyErr  bool
	}{
		{"plain put on absent", absent, func(uint64) PutOptions { return PutOptions{} }, nil, false},
		{"plain put on live", live, func(uint64) PutOptions { return PutOptions{} }, nil, false},
		{"only-if-absent on absent", absent, func(uint64) PutOptions { return PutOptions{OnlyIfAbsent: true} }, nil, false},
		{"only-if-absent on expired", expired, func(uint64) PutOptions { return PutOptions{OnlyIfAbsent: true} }, nil, false},
		{"only-if-absent on live", live, func(uint64) PutOptions { return PutOptions{OnlyIfAbsent: true} }, ErrExists, false},
		{"if-version matching", live, func(v uint64) PutOptions { return PutOptions{IfVersion: v, HasIfVersion: true} }, nil, false},
		{"if-version stale", live, func(v uint64) PutOptions { return PutOptions{IfVersion: v - 1, HasIfVersion: true} }, ErrConflict, false},
		{"if-version on absent", absent, func(uint64) PutOptions { return PutOptions{IfVersion: 1, HasIfVersion: true} }, ErrConflict, false},
		{"if-version zero on absent", absent, func(uint64) PutOptions { return PutOptions{IfVersion: 0, HasIfVersion: true} }, ErrConflict, false},
		{"if-version matching but expired", expired, func(v uint64) PutOptions { return PutOptions{IfVersion: v, HasIfVersion: true} }, ErrConflict, false},
		{"IfVersion without HasIfVersion is ignored", live, func(v uint64) PutOptions { return PutOptions{IfVersion: v + 100} }, nil, false},
		{"both conditions", absent, func(uint64) PutOptions { return PutOptions{OnlyIfAbsent: true, IfVersion: 1, HasIfVersion: true} }, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newMem(t, MemoryOptions{})
			var curVersion uint64
			if tc.state != absent {
				mustSet(t, m, "k", "old", time.Second)
				e, _, err := m.Get(ctx, "k")
				require.NoError(t, err)
				curVersion = e.Version
			}
			if tc.state == expired {
				clk.Advance(time.Second)
			}
			opts := tc.opts(curVersion)
			opts.TTL = time.Minute
			got, err := m.Put(ctx, "k", []byte("new"), opts)
			if tc.wantErr != nil || tc.anyErr {
				require.Error(t, err)
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
				}
				assert.Equal(t, Entry{}, got)
				v, ok := getValue(t, m, "k")
				if tc.state == live {
					assert.True(t, ok)
					assert.Equal(t, "old", v, "a failed put leaves the value alone")
				} else {
					assert.False(t, ok)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "k", got.Key)
			assert.Equal(t, "new", string(got.Value))
			assert.Greater(t, got.Version, curVersion)
			assert.Equal(t, clk.Now().Add(time.Minute), got.ExpiresAt)
			e, ok, err := m.Get(ctx, "k")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, got, e)
		})
	}
}

// TestPutIsAtomic races many OnlyIfAbsent and IfVersion writers: exactly one
// creator may win, and a version may be claimed by exactly one writer.
func TestPutIsAtomic(t *testing.T) {
	ctx := context.Background()
	m, _ := newMem(t, MemoryOptions{})
	const workers = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range workers {
		wg.Go(func() {
			_, err := m.Put(ctx, "k", []byte("0"), PutOptions{OnlyIfAbsent: true})
			if err == nil {
				mu.Lock()
				created++
				mu.Unlock()
			} else {
				assert.ErrorIs(t, err, ErrExists)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, created)

	// Compare-and-swap counter: every success must have read the latest version.
	const perWorker = 50
	for range workers {
		wg.Go(func() {
			for done := 0; done < perWorker; {
				e, _, err := m.Get(ctx, "k")
				if !assert.NoError(t, err) {
					return
				}
				n, _ := strconv.Atoi(string(e.Value))
				_, err = m.Put(ctx, "k", []byte(strconv.Itoa(n+1)), PutOptions{IfVersion: e.Version, HasIfVersion: true})
				if err == nil {
					done++
				} else if !assert.ErrorIs(t, err, ErrConflict) {
					return
				}
			}
		})
	}
	wg.Wait()
	v, _ := getValue(t, m, "k")
	assert.Equal(t, strconv.Itoa(workers*perWorker), v)
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	incr := func(cur Entry, exists bool) ([]byte, time.Duration, error) {
		n := 0
		if exists {
			var err error
			if n, err = strconv.Atoi(string(cur.Value)); err != nil {
				return nil, 0, fmt.Errorf("not a number: %w", err)
			}
		}
		return []byte(strconv.Itoa(n + 1)), 0, nil
	}
	tests := []struct {
		name       string
		setup      func(t *testing.T, m *Memory, clk *ManualClock)
		fn         Mutate
		wantValue  string
		wantErr    bool
		wantExists bool
	}{
		{"missing key starts from nothing", func(*testing.T, *Memory, *ManualClock) {}, incr, "1", false, false},
		{"live key", func(t *testing.T, m *Memory, _ *ManualClock) { mustSet(t, m, "k", "41", 0) }, incr, "42", false, true},
		{"expired key is missing", func(t *testing.T, m *Memory, clk *ManualClock) {
			mustSet(t, m, "k", "41", time.Second)
			clk.Advance(time.Second)
		}, incr, "1", false, false},
		{"error leaves the value alone", func(t *testing.T, m *Memory, _ *ManualClock) { mustSet(t, m, "k", "abc", 0) }, incr, "abc", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newMem(t, MemoryOptions{})
			tc.setup(t, m, clk)
			var sawExists bool
			_, err := m.Update(ctx, "k", func(cur Entry, exists bool) ([]byte, time.Duration, error) {
				sawExists = exists
				if !exists {
					assert.Equal(t, Entry{Key: "k"}, cur)
				}
				return tc.fn(cur, exists)
			})
			assert.Equal(t, tc.wantExists, sawExists)
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			v, _ := getValue(t, m, "k")
			assert.Equal(t, tc.wantValue, v)
		})
	}

	t.Run("the error is returned unchanged", func(t *testing.T) {
		m, _ := newMem(t, MemoryOptions{})
		sentinel := errors.New("mine")
		_, err := m.Update(ctx, "k", func(Entry, bool) ([]byte, time.Duration, error) { return nil, 0, sentinel })
		require.Equal(t, sentinel, err)
		assert.Equal(t, 0, m.Len())
	})

	t.Run("ttl and returned entry", func(t *testing.T) {
		m, clk := newMem(t, MemoryOptions{})
		mustSet(t, m, "k", "1", 0)
		e, err := m.Update(ctx, "k", func(cur Entry, _ bool) ([]byte, time.Duration, error) {
			return append(cur.Value, '0'), 2 * time.Second, nil
		})
		require.NoError(t, err)
		assert.Equal(t, "10", string(e.Value))
		assert.Equal(t, clk.Now().Add(2*time.Second), e.ExpiresAt)
		clk.Advance(2 * time.Second)
		_, ok := getValue(t, m, "k")
		assert.False(t, ok)
	})

	t.Run("a panicking mutate does not leave the store locked", func(t *testing.T) {
		m, _ := newMem(t, MemoryOptions{})
		assert.Panics(t, func() {
			_, _ = m.Update(ctx, "k", func(Entry, bool) ([]byte, time.Duration, error) { panic("boom") })
		})
		mustSet(t, m, "k", "still works", 0)
	})

	t.Run("concurrent increments are not lost", func(t *testing.T) {
		m, _ := newMem(t, MemoryOptions{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 200 {
					_, err := m.Update(ctx, "n", incr)
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		v, _ := getValue(t, m, "n")
		assert.Equal(t, "1600", v)
	})
}

func TestValuesAreCopied(t *testing.T) {
	ctx := context.Background()
	m, _ := newMem(t, MemoryOptions{})
	buf := []byte("hello")
	require.NoError(t, m.Set(ctx, "k", buf, 0))
	buf[0] = 'J' // the caller reuses its buffer
	e, _, err := m.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(e.Value))
	e.Value[0] = 'Y' // and scribbles on what it got back
	again, _ := getValue(t, m, "k")
	assert.Equal(t, "hello", again)

	put := []byte("put")
	pe, err := m.Put(ctx, "p", put, PutOptions{})
	require.NoError(t, err)
	put[0], pe.Value[0] = 'X', 'X'
	v, _ := getValue(t, m, "p")
	assert.Equal(t, "put", v)

	var kept, returned []byte
	_, err = m.Update(ctx, "k", func(cur Entry, _ bool) ([]byte, time.Duration, error) {
		kept = cur.Value
		returned = []byte("upd")
		return returned, 0, nil
	})
	require.NoError(t, err)
	kept[0], returned[0] = 'X', 'X' // the store must hold its own copy of both
	v, _ = getValue(t, m, "k")
	assert.Equal(t, "upd", v)

	p, err := m.List(ctx, ListOptions{Limit: 10})
	require.NoError(t, err)
	p.Items[0].Value[0] = 'X'
	v, _ = getValue(t, m, "k")
	assert.Equal(t, "upd", v)

	require.NoError(t, m.Set(ctx, "empty", []byte{}, 0))
	e, ok, err := m.Get(ctx, "empty")
	require.NoError(t, err)
	require.True(t, ok)
	assert.NotNil(t, e.Value, "an empty value reads back as empty, not nil")
	assert.Empty(t, e.Value)

	require.NoError(t, m.Set(ctx, "nil", nil, 0))
	e, ok, err = m.Get(ctx, "nil")
	require.NoError(t, err)
	require.True(t, ok, "a nil value is stored as empty")
	assert.Equal(t, []byte{}, e.Value)
}

func TestCanceledContext(t *testing.T) {
	m, _ := newMem(t, MemoryOptions{})
	mustSet(t, m, "k", "v", 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := m.Get(ctx, "k")
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, m.Set(ctx, "k", []byte("x"), 0), context.Canceled)
	_, err = m.Has(ctx, "k")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = m.Delete(ctx, "k")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = m.Put(ctx, "k", nil, PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = m.Update(ctx, "k", func(Entry, bool) ([]byte, time.Duration, error) { return nil, 0, nil })
	assert.ErrorIs(t, err, context.Canceled)
	_, err = m.List(ctx, ListOptions{Limit: 1})
	assert.ErrorIs(t, err, context.Canceled)
	v, _ := getValue(t, m, "k")
	assert.Equal(t, "v", v, "nothing was written")
}
