package engine

// The engine conformance suite: behaviour every Engine must share, as seen
// through the interface. It runs against the memory engine and against the
// Redis engine (on a real redis-server); a future engine adds one more
// factory below.
//
// Expiry is driven without sleeping, so the cases mean the same on any
// machine: the memory engine runs on a ManualClock, and on Redis, where keys
// expire on the server's clock, the test makes time pass for the store by
// moving every deadline of its keys earlier on the server (passRedisTime).
// Ttls are minutes or hours, so the little real time a case takes never
// decides an outcome. That the engine hands Redis the right deadline at all
// is checked against PTTL (TestRedisTTLIsWholeMilliseconds).

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/engine/redistest"
)

// conformanceEngines are the engines under test: a factory for cases run on
// a ManualClock (which must not rely on it to expire keys), one for a store
// of a given max size on the system clock (0: the engine's default), and one
// for a store of a given max size with a function that makes time pass for it.
type conformanceEngine struct {
	name    string
	onClock func(t *testing.T, clock *ManualClock) Engine
	sized   func(t *testing.T, maxSize int) Engine
	timed   func(t *testing.T, maxSize int) (Engine, func(time.Duration))
}

func conformanceEngines(t *testing.T) []conformanceEngine {
	addr := redistest.Start(t) // one server; each engine gets its own key prefix
	return []conformanceEngine{
		{
			name: "memory",
			onClock: func(t *testing.T, clock *ManualClock) Engine {
				m, err := NewMemory(MemoryOptions{MaxSize: 100000, Clock: clock})
				require.NoError(t, err)
				t.Cleanup(func() { _ = m.Close() })
				return m
			},
			sized: func(t *testing.T, maxSize int) Engine {
				m, err := NewMemory(MemoryOptions{MaxSize: maxSize})
				require.NoError(t, err)
				t.Cleanup(func() { _ = m.Close() })
				return m
			},
			timed: func(t *testing.T, maxSize int) (Engine, func(time.Duration)) {
				clock := newWallClock()
				m, err := NewMemory(MemoryOptions{MaxSize: maxSize, Clock: clock})
				require.NoError(t, err)
				t.Cleanup(func() { _ = m.Close() })
				return m, clock.Advance
			},
		},
		{
			name: "redis",
			onClock: func(t *testing.T, clock *ManualClock) Engine {
				return newTestRedis(t, addr, RedisOptions{Clock: clock})
			},
			sized: func(t *testing.T, maxSize int) Engine {
				return newTestRedis(t, addr, RedisOptions{MaxSize: maxSize})
			},
			timed: func(t *testing.T, maxSize int) (Engine, func(time.Duration)) {
				// The clock only turns PTTLs into ExpiresAt; it moves with the server's deadlines.
				clock := newWallClock()
				r := newTestRedis(t, addr, RedisOptions{MaxSize: maxSize, Clock: clock})
				raw := rawRedis(t, addr)
				return r, func(d time.Duration) {
					passRedisTime(t, raw, r, d)
					clock.Advance(d)
				}
			},
		},
	}
}

func TestEngineConformance(t *testing.T) {
	for _, ce := range conformanceEngines(t) {
		t.Run(ce.name, func(t *testing.T) {
			t.Run("clock", func(t *testing.T) { testEngineConformance(t, ce.onClock) })
			t.Run("size", func(t *testing.T) { testEngineFullStore(t, ce.sized) })
			t.Run("ttl", func(t *testing.T) { testEngineTTL(t, ce.timed) })
		})
	}
}

func cSet(t testing.TB, e Engine, key, value string, ttl time.Duration) {
	t.Helper()
	require.NoError(t, e.Set(context.Background(), key, []byte(value), ttl))
}

func cGet(t testing.TB, e Engine, key string) (Entry, bool) {
	t.Helper()
	got, ok, err := e.Get(context.Background(), key)
	require.NoError(t, err)
	return got, ok
}

func cHas(t testing.TB, e Engine, key string) bool {
	t.Helper()
	ok, err := e.Has(context.Background(), key)
	require.NoError(t, err)
	return ok
}

func cKeys(p Page) []string {
	keys := []string{}
	for _, it := range p.Items {
		keys = append(keys, it.Key)
	}
	return keys
}

// wallClocks records when each test's ManualClock was made, on the real clock.
var wallClocks sync.Map // *ManualClock -> time.Time

// newWallClock returns a ManualClock that reads the real time now, remembering
// when it was made (see assertExpiresAt).
func newWallClock() *ManualClock {
	now := time.Now()
	c := NewManualClock(now)
	wallClocks.Store(c, now)
	return c
}

// assertExpiresAt checks an ExpiresAt that should be ttl after clk's reading.
// Memory is exact; Redis derives it from the remaining ttl on the server,
// which has run down by the real time the case took so far: at most the real
// time since clk was made (and up to 1 ms of rounding), never later.
func assertExpiresAt(t testing.TB, clk *ManualClock, ttl time.Duration, got time.Time) {
	t.Helper()
	made, ok := wallClocks.Load(clk)
	require.True(t, ok, "clk comes from newWallClock")
	want := clk.Now().Add(ttl)
	earliest := want.Add(-time.Since(made.(time.Time)) - time.Millisecond)
	assert.False(t, got.After(want), "expires at %v, after %v", got, want)
	assert.False(t, got.Before(earliest), "expires at %v, before %v", got, earliest)
}

// incrMutate adds one to a decimal value (0 when missing).
func incrMutate(cur Entry, exists bool) ([]byte, time.Duration, error) {
	n := 0
	if exists {
		var err error
		if n, err = strconv.Atoi(string(cur.Value)); err != nil {
			return nil, 0, fmt.Errorf("not a number: %w", err)
		}
	}
	return []byte(strconv.Itoa(n + 1)), 0, nil
}

// testEngineConformance runs the cases that do not need time to pass.
func testEngineConformance(t *testing.T, newEngine func(t *testing.T, clock *ManualClock) Engine) {
	ctx := context.Background()
	newE := func(t *testing.T) (Engine, *ManualClock) {
		clk := newWallClock()
		return newEngine(t, clk), clk
	}

	t.Run("get set has delete", func(t *testing.T) {
		e, _ := newE(t)
		_, ok := cGet(t, e, "k")
		assert.False(t, ok)
		assert.False(t, cHas(t, e, "k"))
		gone, err := e.Delete(ctx, "k")
		require.NoError(t, err)
		assert.False(t, gone, "nothing to delete")

		cSet(t, e, "k", "v1", 0)
		got, ok := cGet(t, e, "k")
		require.True(t, ok)
		assert.Equal(t, "k", got.Key)
		assert.Equal(t, "v1", string(got.Value))
		assert.NotZero(t, got.Version)
		assert.True(t, got.ExpiresAt.IsZero())
		assert.True(t, cHas(t, e, "k"))
		assert.Equal(t, 1, e.Len())

		cSet(t, e, "k", "v2", 0)
		got, _ = cGet(t, e, "k")
		assert.Equal(t, "v2", string(got.Value))
		assert.Equal(t, 1, e.Len())

		cSet(t, e, "other", "o", 0)
		gone, err = e.Delete(ctx, "k")
		require.NoError(t, err)
		assert.True(t, gone)
		gone, err = e.Delete(ctx, "k")
		require.NoError(t, err)
		assert.False(t, gone, "a second delete finds nothing")
		_, ok = cGet(t, e, "k")
		assert.False(t, ok)
		assert.False(t, cHas(t, e, "k"))
		assert.True(t, cHas(t, e, "other"), "other keys stay")
		assert.Equal(t, 1, e.Len())
	})

	t.Run("a ttl is reported as a deadline", func(t *testing.T) {
		e, clk := newE(t)
		cSet(t, e, "k", "v", time.Hour)
		got, ok := cGet(t, e, "k")
		require.True(t, ok)
		assertExpiresAt(t, clk, time.Hour, got.ExpiresAt)
		cSet(t, e, "k", "v", 0)
		got, _ = cGet(t, e, "k")
		assert.True(t, got.ExpiresAt.IsZero(), "set without ttl clears the expiry")
		cSet(t, e, "k", "v", -time.Second)
		got, _ = cGet(t, e, "k")
		assert.True(t, got.ExpiresAt.IsZero(), "a negative ttl means none")
	})

	t.Run("versions", func(t *testing.T) {
		e, _ := newE(t)
		seen := map[uint64]string{}
		record := func(en Entry) {
			t.Helper()
			require.NotZero(t, en.Version)
			prev, dup := seen[en.Version]
			require.False(t, dup, "version %d reused (first by %s)", en.Version, prev)
			seen[en.Version] = en.Key
		}
		version := func(key string) Entry {
			t.Helper()
			en, ok := cGet(t, e, key)
			require.True(t, ok)
			return en
		}
		cSet(t, e, "k", "1", 0)
		first := version("k")
		record(first)
		cSet(t, e, "k", "1", 0) // same value: still a write
		record(version("k"))
		_, err := e.Delete(ctx, "k")
		require.NoError(t, err)
		cSet(t, e, "k", "1", 0)
		recreated := version("k")
		record(recreated)
		assert.Greater(t, recreated.Version, first.Version, "delete and re-create gives a new version")
		en, err := e.Put(ctx, "k", []byte("2"), PutOptions{})
		require.NoError(t, err)
		record(en)
		en, err = e.Update(ctx, "k", func(cur Entry, _ bool) ([]byte, time.Duration, error) { return cur.Value, 0, nil })
		require.NoError(t, err)
		record(en)
		cSet(t, e, "other", "y", 0)
		record(version("other"))
		assert.Equal(t, version("k").Version, version("k").Version, "reads do not write")
	})

	t.Run("put", func(t *testing.T) {
		tests := []struct {
			name    string
			live    bool
			opts    func(curVersion uint64) PutOptions
			wantErr error
			anyErr  bool
		}{
			{"plain put on absent", false, func(uint64) PutOptions { return PutOptions{} }, nil, false},
			{"plain put on live", true, func(uint64) PutOptions { return PutOptions{} }, nil, false},
			{"only-if-absent on absent", false, func(uint64) PutOptions { return PutOptions{OnlyIfAbsent: true} }, nil, false},
			{"only-if-absent on live", true, func(uint64) PutOptions { return PutOptions{OnlyIfAbsent: true} }, ErrExists, false},
			{"if-version matching", true, func(v uint64) PutOptions { return PutOptions{IfVersion: v, HasIfVersion: true} }, nil, false},
			{"if-version stale", true, func(v uint64) PutOptions { return PutOptions{IfVersion: v - 1, HasIfVersion: true} }, ErrConflict, false},
			{"if-version newer", true, func(v uint64) PutOptions { return PutOptions{IfVersion: v + 1, HasIfVersion: true} }, ErrConflict, false},
			{"if-version on absent", false, func(uint64) PutOptions { return PutOptions{IfVersion: 1, HasIfVersion: true} }, ErrConflict, false},
			{"if-version zero on absent", false, func(uint64) PutOptions { return PutOptions{IfVersion: 0, HasIfVersion: true} }, ErrConflict, false},
			{"IfVersion without HasIfVersion is ignored", true, func(v uint64) PutOptions { return PutOptions{IfVersion: v + 100} }, nil, false},
			{"both conditions", false, func(uint64) PutOptions { return PutOptions{OnlyIfAbsent: true, IfVersion: 1, HasIfVersion: true} }, nil, true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e, clk := newE(t)
				var curVersion uint64
				if tc.live {
					cSet(t, e, "k", "old", time.Hour)
					cur, _ := cGet(t, e, "k")
					curVersion = cur.Version
				}
				opts := tc.opts(curVersion)
				opts.TTL = time.Minute
				got, err := e.Put(ctx, "k", []byte("new"), opts)
				if tc.wantErr != nil || tc.anyErr {
					require.Error(t, err)
					if tc.wantErr != nil {
						require.ErrorIs(t, err, tc.wantErr)
					}
					assert.NotErrorIs(t, err, ErrUnavailable)
					assert.Equal(t, Entry{}, got)
					cur, ok := cGet(t, e, "k")
					assert.Equal(t, tc.live, ok)
					if tc.live {
						assert.Equal(t, "old", string(cur.Value), "a failed put leaves the value alone")
						assert.Equal(t, curVersion, cur.Version)
					}
					return
				}
				require.NoError(t, err)
				assert.Equal(t, "k", got.Key)
				assert.Equal(t, "new", string(got.Value))
				assert.Greater(t, got.Version, curVersion)
				assertExpiresAt(t, clk, time.Minute, got.ExpiresAt)
				cur, ok := cGet(t, e, "k")
				require.True(t, ok)
				assert.Equal(t, got.Key, cur.Key)
				assert.Equal(t, got.Value, cur.Value)
				assert.Equal(t, got.Version, cur.Version)
				assertExpiresAt(t, clk, time.Minute, cur.ExpiresAt)
			})
		}
	})

	// Atomicity: Update increments and compare-and-swap loops (Put with
	// IfVersion) on another key, at the same time, from many goroutines.
	t.Run("update and put are atomic", func(t *testing.T) {
		e, _ := newE(t)
		const workers, perWorker = 10, 100 // 1000 increments of each kind
		var created atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				_, err := e.Put(ctx, "cas", []byte("0"), PutOptions{OnlyIfAbsent: true})
				if err == nil {
					created.Add(1)
				} else {
					assert.ErrorIs(t, err, ErrExists)
				}
			})
		}
		wg.Wait()
		require.Equal(t, int64(1), created.Load(), "exactly one only-if-absent wins")

		for range workers {
			wg.Go(func() {
				for range perWorker {
					_, err := e.Update(ctx, "n", incrMutate)
					if !assert.NoError(t, err) {
						return
					}
				}
			})
			wg.Go(func() {
				for done := 0; done < perWorker; {
					cur, ok, err := e.Get(ctx, "cas")
					if !assert.NoError(t, err) || !assert.True(t, ok) {
						return
					}
					n, _ := strconv.Atoi(string(cur.Value))
					_, err = e.Put(ctx, "cas", []byte(strconv.Itoa(n+1)), PutOptions{IfVersion: cur.Version, HasIfVersion: true})
					if err == nil {
						done++
					} else if !assert.ErrorIs(t, err, ErrConflict) {
						return
					}
				}
			})
		}
		wg.Wait()
		n, _ := cGet(t, e, "n")
		assert.Equal(t, strconv.Itoa(workers*perWorker), string(n.Value))
		cas, _ := cGet(t, e, "cas")
		assert.Equal(t, strconv.Itoa(workers*perWorker), string(cas.Value))
	})

	t.Run("update", func(t *testing.T) {
		tests := []struct {
			name       string
			initial    string // "" for none
			wantValue  string
			wantErr    bool
			wantExists bool
		}{
			{"missing key starts from nothing", "", "1", false, false},
			{"live key", "41", "42", false, true},
			{"error leaves the value alone", "abc", "abc", true, true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e, _ := newE(t)
				var before Entry
				if tc.initial != "" {
					cSet(t, e, "k", tc.initial, 0)
					before, _ = cGet(t, e, "k")
				}
				var sawExists bool
				got, err := e.Update(ctx, "k", func(cur Entry, exists bool) ([]byte, time.Duration, error) {
					sawExists = exists
					if exists {
						assert.Equal(t, before, cur)
					} else {
						assert.Equal(t, Entry{Key: "k"}, cur)
					}
					return incrMutate(cur, exists)
				})
				assert.Equal(t, tc.wantExists, sawExists)
				if tc.wantErr {
					require.Error(t, err)
					assert.NotErrorIs(t, err, ErrUnavailable)
					after, _ := cGet(t, e, "k")
					assert.Equal(t, before.Version, after.Version, "nothing was written")
				} else {
					require.NoError(t, err)
					assert.Equal(t, tc.wantValue, string(got.Value))
					assert.Greater(t, got.Version, before.Version)
				}
				v, _ := cGet(t, e, "k")
				assert.Equal(t, tc.wantValue, string(v.Value))
			})
		}
	})

	t.Run("update returns the error unchanged", func(t *testing.T) {
		e, _ := newE(t)
		sentinel := errors.New("mine")
		_, err := e.Update(ctx, "k", func(Entry, bool) ([]byte, time.Duration, error) { return nil, 0, sentinel })
		require.Equal(t, sentinel, err)
		assert.Equal(t, 0, e.Len())
	})

	t.Run("update ttl and returned entry", func(t *testing.T) {
		e, clk := newE(t)
		cSet(t, e, "k", "1", 0)
		got, err := e.Update(ctx, "k", func(cur Entry, _ bool) ([]byte, time.Duration, error) {
			return append(cur.Value, '0'), 2 * time.Hour, nil
		})
		require.NoError(t, err)
		assert.Equal(t, "10", string(got.Value))
		assertExpiresAt(t, clk, 2*time.Hour, got.ExpiresAt)
		cur, _ := cGet(t, e, "k")
		assert.Equal(t, got.Version, cur.Version)
		assertExpiresAt(t, clk, 2*time.Hour, cur.ExpiresAt)
		got, err = e.Update(ctx, "k", func(cur Entry, _ bool) ([]byte, time.Duration, error) { return cur.Value, 0, nil })
		require.NoError(t, err)
		assert.True(t, got.ExpiresAt.IsZero(), "no ttl clears the expiry")
		cur, _ = cGet(t, e, "k")
		assert.True(t, cur.ExpiresAt.IsZero())
	})

	t.Run("a panicking mutate leaves the engine usable", func(t *testing.T) {
		e, _ := newE(t)
		assert.Panics(t, func() {
			_, _ = e.Update(ctx, "k", func(Entry, bool) ([]byte, time.Duration, error) { panic("boom") })
		})
		cSet(t, e, "k", "still works", 0)
	})

	t.Run("values are copied", func(t *testing.T) {
		e, _ := newE(t)
		buf := []byte("hello")
		require.NoError(t, e.Set(ctx, "k", buf, 0))
		buf[0] = 'J'
		got, _ := cGet(t, e, "k")
		assert.Equal(t, "hello", string(got.Value))
		got.Value[0] = 'Y'
		again, _ := cGet(t, e, "k")
		assert.Equal(t, "hello", string(again.Value))

		put := []byte("put")
		pe, err := e.Put(ctx, "p", put, PutOptions{})
		require.NoError(t, err)
		put[0], pe.Value[0] = 'X', 'X'
		v, _ := cGet(t, e, "p")
		assert.Equal(t, "put", string(v.Value))

		var kept, returned []byte
		_, err = e.Update(ctx, "k", func(cur Entry, _ bool) ([]byte, time.Duration, error) {
			kept = cur.Value
			returned = []byte("upd")
			return returned, 0, nil
		})
		require.NoError(t, err)
		kept[0], returned[0] = 'X', 'X'
		v, _ = cGet(t, e, "k")
		assert.Equal(t, "upd", string(v.Value))

		p, err := e.List(ctx, ListOptions{Limit: 10})
		require.NoError(t, err)
		p.Items[0].Value[0] = 'X'
		v, _ = cGet(t, e, "k")
		assert.Equal(t, "upd", string(v.Value))

		require.NoError(t, e.Set(ctx, "empty", []byte{}, 0))
		v, ok := cGet(t, e, "empty")
		require.True(t, ok)
		assert.NotNil(t, v.Value, "an empty value reads back as empty, not nil")
		assert.Empty(t, v.Value)
		require.NoError(t, e.Set(ctx, "nil", nil, 0))
		v, ok = cGet(t, e, "nil")
		require.True(t, ok, "a nil value is stored as empty")
		assert.Equal(t, []byte{}, v.Value)
		pe, err = e.Put(ctx, "nilput", nil, PutOptions{})
		require.NoError(t, err)
		assert.Equal(t, []byte{}, pe.Value)
	})

	t.Run("keys and values are binary-safe", func(t *testing.T) {
		e, _ := newE(t)
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		keys := []string{"a:b", "\x00", "a\x00b", "k:x", "i", "e", "v", "\xff\xfe", "wasmkv:other:k:x", "[x", "(x", "-", "+", " ", ""}
		for i, k := range keys {
			require.NoError(t, e.Set(ctx, k, append([]byte{byte(i)}, all...), 0), "%q", k)
		}
		for i, k := range keys {
			got, ok := cGet(t, e, k)
			require.True(t, ok, "%q", k)
			assert.Equal(t, k, got.Key)
			assert.Equal(t, append([]byte{byte(i)}, all...), got.Value, "%q", k)
		}
		p, err := e.List(ctx, ListOptions{Limit: 100})
		require.NoError(t, err)
		want := slices.Clone(keys)
		slices.Sort(want)
		assert.Equal(t, want, cKeys(p))
		assert.Equal(t, len(keys), e.Len())
		p, err = e.List(ctx, ListOptions{Prefix: "a\x00", Limit: 100})
		require.NoError(t, err)
		assert.Equal(t, []string{"a\x00b"}, cKeys(p))
		p, err = e.List(ctx, ListOptions{Prefix: "\xff", Limit: 100})
		require.NoError(t, err)
		assert.Equal(t, []string{"\xff\xfe"}, cKeys(p))
	})

	t.Run("canceled context", func(t *testing.T) {
		e, _ := newE(t)
		cSet(t, e, "k", "v", 0)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := e.Get(cctx, "k")
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, e.Set(cctx, "k", []byte("x"), 0), context.Canceled)
		_, err = e.Has(cctx, "k")
		assert.ErrorIs(t, err, context.Canceled)
		_, err = e.Delete(cctx, "k")
		assert.ErrorIs(t, err, context.Canceled)
		_, err = e.Put(cctx, "k", nil, PutOptions{})
		assert.ErrorIs(t, err, context.Canceled)
		_, err = e.Update(cctx, "k", func(Entry, bool) ([]byte, time.Duration, error) { return nil, 0, nil })
		assert.ErrorIs(t, err, context.Canceled)
		_, err = e.List(cctx, ListOptions{Limit: 1})
		assert.ErrorIs(t, err, context.Canceled)
		v, _ := cGet(t, e, "k")
		assert.Equal(t, "v", string(v.Value), "nothing was written")
	})

	t.Run("list", func(t *testing.T) {
		// Keys in byte order: "a" < "a/" < "a/1" < "a/2" < "a0" < "ab" < "b" < "\xff".
		live := []string{"b", "a/2", "ab", "a", "a/1", "a0", "\xff"}
		tests := []struct {
			name        string
			opts        ListOptions
			wantKeys    []string
			wantHasMore bool
		}{
			{"all in byte order", ListOptions{Limit: 100}, []string{"a", "a/1", "a/2", "a0", "ab", "b", "\xff"}, false},
			{"limit sets has_more", ListOptions{Limit: 3}, []string{"a", "a/1", "a/2"}, true},
			{"limit equal to the rest", ListOptions{Limit: 7}, []string{"a", "a/1", "a/2", "a0", "ab", "b", "\xff"}, false},
			{"prefix", ListOptions{Prefix: "a/", Limit: 10}, []string{"a/1", "a/2"}, false},
			{"prefix includes the key equal to it", ListOptions{Prefix: "a", Limit: 10}, []string{"a", "a/1", "a/2", "a0", "ab"}, false},
			{"prefix matching nothing", ListOptions{Prefix: "zz", Limit: 10}, []string{}, false},
			{"after is exclusive", ListOptions{After: "a/1", Limit: 2}, []string{"a/2", "a0"}, true},
			{"after need not be a key", ListOptions{After: "a/15", Limit: 10}, []string{"a/2", "a0", "ab", "b", "\xff"}, false},
			{"after before the prefix", ListOptions{Prefix: "a/", After: "0", Limit: 10}, []string{"a/1", "a/2"}, false},
			{"after inside the prefix", ListOptions{Prefix: "a/", After: "a/1", Limit: 10}, []string{"a/2"}, false},
			{"after the prefix range", ListOptions{Prefix: "a/", After: "a/9", Limit: 10}, []string{}, false},
			{"after the last key", ListOptions{After: "\xff", Limit: 10}, []string{}, false},
			{"has_more stops at the prefix", ListOptions{Prefix: "a/", Limit: 2}, []string{"a/1", "a/2"}, false},
			{"prefix of 0xff bytes", ListOptions{Prefix: "\xff", Limit: 10}, []string{"\xff"}, false},
		}
		e, clk := newE(t)
		for _, k := range live {
			cSet(t, e, k, "v:"+k, 0)
		}
		cSet(t, e, "ab", "v:ab", time.Hour)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p, err := e.List(ctx, tc.opts)
				require.NoError(t, err)
				assert.Equal(t, tc.wantKeys, cKeys(p))
				assert.Equal(t, tc.wantHasMore, p.HasMore)
				for _, it := range p.Items {
					assert.Equal(t, "v:"+it.Key, string(it.Value))
					got, _ := cGet(t, e, it.Key)
					assert.Equal(t, got.Version, it.Version)
					if it.Key == "ab" {
						assertExpiresAt(t, clk, time.Hour, it.ExpiresAt)
					} else {
						assert.True(t, it.ExpiresAt.IsZero())
					}
				}
			})
		}
		for _, limit := range []int{0, -1} {
			_, err := e.List(ctx, ListOptions{Limit: limit})
			require.Error(t, err, "limit %d", limit)
			assert.NotErrorIs(t, err, ErrUnavailable)
		}
	})

	// Paging: 2k keys in pages of 7 while writers insert and delete keys on
	// both sides of the listed range and churn keys inside it: every stable
	// key is listed exactly once, in order.
	t.Run("paging under concurrent writes", func(t *testing.T) {
		const n, pageSize = 2000, 7
		e, _ := newE(t)
		want := make([]string, n)
		for i := range n {
			want[i] = fmt.Sprintf("list/%05d", i)
			cSet(t, e, want[i], "v", 0)
		}
		for i := range n / 4 {
			cSet(t, e, fmt.Sprintf("lisa/%05d", i), "v", 0)
			cSet(t, e, fmt.Sprintf("lisz/%05d", i), "v", 0)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		// rounds and churns count each writer's passes; every 16 pages the pager waits
		// for both to move, so the paging really runs under concurrent writes however
		// the scheduler interleaves the goroutines.
		var rounds, churns atomic.Int64
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				for _, p := range []string{"lisa/", "lisz/"} {
					k := fmt.Sprintf("%s%05d", p, i%(n/4))
					if i%2 == 0 {
						_, err := e.Delete(ctx, k)
						assert.NoError(t, err)
					} else {
						assert.NoError(t, e.Set(ctx, k+"x", []byte("v"), 0))
					}
				}
				rounds.Add(1)
			}
		})
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("list/%05d~churn", (i*7919)%n)
				switch i % 3 {
				case 0:
					assert.NoError(t, e.Set(ctx, k, []byte("c"), 0))
				case 1:
					assert.NoError(t, e.Set(ctx, k, []byte("c"), time.Millisecond))
				default:
					_, err := e.Delete(ctx, k)
					assert.NoError(t, err)
				}
				churns.Add(1)
			}
		})
		waitForWriters := func() {
			r, c := rounds.Load(), churns.Load()
			for rounds.Load() == r || churns.Load() == c {
				runtime.Gosched()
			}
		}
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page%16 == 0 {
				waitForWriters()
			}
			p, err := e.List(ctx, ListOptions{Prefix: "list/", After: after, Limit: pageSize})
			require.NoError(t, err)
			require.LessOrEqual(t, len(p.Items), pageSize)
			got = append(got, cKeys(p)...)
			if !p.HasMore {
				break
			}
			require.NotEmpty(t, p.Items, "has_more on an empty page would loop forever")
			after = p.Items[len(p.Items)-1].Key
		}
		close(stop)
		wg.Wait()
		require.True(t, slices.IsSorted(got), "keys come in increasing order")
		require.Len(t, slices.Compact(slices.Clone(got)), len(got), "no key repeats")
		stable := slices.DeleteFunc(slices.Clone(got), func(k string) bool { return len(k) != len("list/00000") })
		require.Equal(t, want, stable, "every stable key is listed exactly once")
	})
}

// testEngineFullStore runs the max-size cases that need no expiry.
func testEngineFullStore(t *testing.T, newEngine func(t *testing.T, maxSize int) Engine) {
	ctx := context.Background()
	writes := map[string]func(e Engine, key string) error{
		"set": func(e Engine, key string) error { return e.Set(ctx, key, []byte("v"), 0) },
		"put": func(e Engine, key string) error {
			_, err := e.Put(ctx, key, []byte("v"), PutOptions{OnlyIfAbsent: true})
			return err
		},
		"update": func(e Engine, key string) error {
			_, err := e.Update(ctx, key, func(Entry, bool) ([]byte, time.Duration, error) { return []byte("v"), 0, nil })
			return err
		},
	}
	for wname, write := range writes {
		t.Run("full of live keys/"+wname, func(t *testing.T) {
			e := newEngine(t, 3)
			cSet(t, e, "a", "1", 0)
			cSet(t, e, "b", "2", time.Hour)
			cSet(t, e, "c", "3", 0)
			err := write(e, "new")
			require.ErrorIs(t, err, ErrFull)
			assert.NotErrorIs(t, err, ErrUnavailable)
			assert.False(t, cHas(t, e, "new"))
			assert.Equal(t, 3, e.Len())
		})
		t.Run("a deleted key frees its slot/"+wname, func(t *testing.T) {
			e := newEngine(t, 3)
			cSet(t, e, "a", "1", 0)
			cSet(t, e, "b", "2", 0)
			cSet(t, e, "c", "3", 0)
			_, err := e.Delete(ctx, "b")
			require.NoError(t, err)
			require.NoError(t, write(e, "new"))
			v, ok := cGet(t, e, "new")
			assert.True(t, ok)
			assert.Equal(t, "v", string(v.Value))
			assert.Equal(t, 3, e.Len())
		})
	}
	t.Run("overwrite in a full store always works", func(t *testing.T) {
		e := newEngine(t, 2)
		cSet(t, e, "a", "1", 0)
		cSet(t, e, "b", "2", 0)
		require.ErrorIs(t, e.Set(ctx, "new", []byte("v"), 0), ErrFull)
		cSet(t, e, "a", "1b", 0)
		_, err := e.Put(ctx, "a", []byte("1c"), PutOptions{})
		require.NoError(t, err)
		_, err = e.Update(ctx, "a", func(Entry, bool) ([]byte, time.Duration, error) { return []byte("1d"), 0, nil })
		require.NoError(t, err)
		v, _ := cGet(t, e, "a")
		assert.Equal(t, "1d", string(v.Value))
		assert.Equal(t, 2, e.Len())
	})
	t.Run("concurrent adders never overfill", func(t *testing.T) {
		e := newEngine(t, 50)
		var added, full atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 20 {
					err := e.Set(ctx, fmt.Sprintf("w%d/%d", w, i), []byte("v"), 0)
					switch {
					case err == nil:
						added.Add(1)
					case errors.Is(err, ErrFull):
						full.Add(1)
					default:
						assert.NoError(t, err)
					}
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int64(50), added.Load())
		assert.Equal(t, int64(8*20-50), full.Load())
		assert.Equal(t, 50, e.Len())
	})
}

// passRedisTime makes d pass for r's keys as the server's clock would: every
// deadline of the store, on its hashes (PTTL) and in its deadline index,
// moves d earlier, in one script so no reader sees half of it. A hash whose
// deadline passes is deleted, as Redis deletes an expired key.
func passRedisTime(t testing.TB, raw *redis.Client, r *Redis, d time.Duration) {
	t.Helper()
	err := raw.Eval(context.Background(), `
local d = tonumber(ARGV[2])
for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do
  local left = redis.call('PTTL', k)
  if left >= 0 then
    if left > d then redis.call('PEXPIRE', k, left - d) else redis.call('DEL', k) end
  end
end
local m = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, k in ipairs(m) do redis.call('ZINCRBY', KEYS[1], -d, k) end
return 0`, []string{r.expiryKey}, r.dataPrefix, d.Milliseconds()).Err()
	require.NoError(t, err)
}

// testEngineTTL runs the expiry cases. newEngine returns a store of a given
// max size (0: the engine's default) and a function that makes time pass for
// it. The ttls are long (minutes and more) and every deadline is reached by
// making time pass, so the real time a case takes never decides an outcome.
func testEngineTTL(t *testing.T, newEngine func(t *testing.T, maxSize int) (Engine, func(time.Duration))) {
	ctx := context.Background()
	const ttl = time.Hour
	t.Parallel()

	t.Run("a key lives until its deadline, then is gone for every operation", func(t *testing.T) {
		t.Parallel()
		e, pass := newEngine(t, 0)
		cSet(t, e, "k", "v", ttl)
		cSet(t, e, "stay", "v", 0)
		pass(ttl - time.Minute)
		got, ok := cGet(t, e, "k")
		require.True(t, ok, "live before its deadline")
		cur := got.Version
		pass(time.Minute)
		_, ok = cGet(t, e, "k")
		assert.False(t, ok, "get")
		assert.False(t, cHas(t, e, "k"), "has")
		p, err := e.List(ctx, ListOptions{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []string{"stay"}, cKeys(p), "list")
		_, err = e.Put(ctx, "k", []byte("x"), PutOptions{IfVersion: cur, HasIfVersion: true})
		assert.ErrorIs(t, err, ErrConflict, "if-version on an expired key")
		var existed bool
		_, err = e.Update(ctx, "k", func(_ Entry, exists bool) ([]byte, time.Duration, error) {
			existed = exists
			return nil, 0, errors.New("no write")
		})
		require.Error(t, err)
		assert.False(t, existed, "update sees it missing")
		gone, err := e.Delete(ctx, "k")
		require.NoError(t, err)
		assert.False(t, gone, "delete reports an expired key as absent")

		cSet(t, e, "k2", "v", ttl)
		pass(ttl)
		ne, err := e.Put(ctx, "k2", []byte("new"), PutOptions{OnlyIfAbsent: true})
		require.NoError(t, err, "only-if-absent on an expired key")
		assert.True(t, ne.ExpiresAt.IsZero())
		v, _ := cGet(t, e, "k2")
		assert.Equal(t, "new", string(v.Value))
	})

	t.Run("set without ttl clears the expiry", func(t *testing.T) {
		t.Parallel()
		e, pass := newEngine(t, 0)
		cSet(t, e, "k", "old", ttl)
		cSet(t, e, "k", "new", 0)
		pass(2 * ttl)
		v, ok := cGet(t, e, "k")
		require.True(t, ok)
		assert.Equal(t, "new", string(v.Value))
		assert.True(t, v.ExpiresAt.IsZero())
	})

	t.Run("a shorter ttl wins and a ttl can be added", func(t *testing.T) {
		t.Parallel()
		e, pass := newEngine(t, 0)
		cSet(t, e, "shorter", "v", 2*ttl)
		cSet(t, e, "shorter", "v", ttl)
		cSet(t, e, "added", "v", 0)
		cSet(t, e, "added", "v", ttl)
		cSet(t, e, "control", "v", 2*ttl)
		pass(ttl)
		assert.False(t, cHas(t, e, "shorter"))
		assert.False(t, cHas(t, e, "added"))
		assert.True(t, cHas(t, e, "control"), "a longer ttl is still running")
	})

	t.Run("an overwrite restarts the ttl", func(t *testing.T) {
		t.Parallel()
		e, pass := newEngine(t, 0)
		cSet(t, e, "k", "v", ttl)
		pass(40 * time.Minute)
		cSet(t, e, "k", "v2", ttl)
		pass(40 * time.Minute) // past the first deadline, before the second
		assert.True(t, cHas(t, e, "k"))
		pass(20 * time.Minute)
		assert.False(t, cHas(t, e, "k"))
	})

	t.Run("expired keys never appear in a list nor make has_more true", func(t *testing.T) {
		t.Parallel()
		e, pass := newEngine(t, 0)
		for _, k := range []string{"a", "a/1", "a/2", "b"} {
			cSet(t, e, k, "v", 0)
		}
		for _, k := range []string{"a/0", "a/1x", "a/3", "a/4", "a/"} {
			cSet(t, e, k, "gone", ttl)
		}
		pass(ttl)
		tests := []struct {
			opts        ListOptions
			wantKeys    []string
			wantHasMore bool
		}{
			{ListOptions{Prefix: "a/", Limit: 10}, []string{"a/1", "a/2"}, false},
			{ListOptions{Prefix: "a/", Limit: 2}, []string{"a/1", "a/2"}, false},
			{ListOptions{Prefix: "a", Limit: 1}, []string{"a"}, true},
			{ListOptions{Prefix: "a/", Limit: 1}, []string{"a/1"}, true},
			{ListOptions{Limit: 100}, []string{"a", "a/1", "a/2", "b"}, false},
		}
		for _, tc := range tests {
			for range 2 { // the second walk finds the index already cleaned
				p, err := e.List(ctx, tc.opts)
				require.NoError(t, err)
				assert.Equal(t, tc.wantKeys, cKeys(p), "%+v", tc.opts)
				assert.Equal(t, tc.wantHasMore, p.HasMore, "%+v", tc.opts)
			}
		}
	})

	t.Run("a full store purges expired keys before refusing", func(t *testing.T) {
		t.Parallel()
		e, pass := newEngine(t, 3)
		cSet(t, e, "a", "1", 0)
		cSet(t, e, "b", "2", ttl)
		cSet(t, e, "c", "3", 0)
		require.ErrorIs(t, e.Set(ctx, "new", []byte("v"), 0), ErrFull)
		pass(ttl)
		cSet(t, e, "new", "v", 0)
		require.ErrorIs(t, e.Set(ctx, "newer", []byte("v"), 0), ErrFull)
		assert.Equal(t, 3, e.Len())

		// Re-creating an expired key reuses its slot.
		e2, pass2 := newEngine(t, 2)
		cSet(t, e2, "a", "1", 0)
		cSet(t, e2, "b", "2", ttl)
		pass2(ttl)
		cSet(t, e2, "b", "2b", 0)
		assert.Equal(t, 2, e2.Len())
		require.ErrorIs(t, e2.Set(ctx, "c", []byte("v"), 0), ErrFull)
	})
}
