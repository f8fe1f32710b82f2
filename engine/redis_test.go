package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/engine/redistest"
)

var testPrefixes atomic.Int64

// newTestRedis returns a Redis engine on addr with a key prefix of its own
// (unless opts names one), closed when the test ends.
func newTestRedis(t testing.TB, addr string, opts RedisOptions) *Redis {
	t.Helper()
	if opts.Address == "" && opts.URL == "" {
		opts.Address = addr
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = fmt.Sprintf("t%d:", testPrefixes.Add(1))
	}
	r, err := NewRedis(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// rawRedis is a plain go-redis client for looking at the server directly.
func rawRedis(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestNewRedisOptions(t *testing.T) {
	bad := []struct {
		name string
		opts RedisOptions
		want string
	}{
		{"no prefix", RedisOptions{}, "key prefix is required"},
		{"lru", RedisOptions{KeyPrefix: "p:", Eviction: "lru"}, `eviction "lru" is not supported`},
		{"unknown eviction", RedisOptions{KeyPrefix: "p:", Eviction: "lfu"}, "unknown eviction"},
		{"address and url", RedisOptions{KeyPrefix: "p:", Address: "h:1", URL: "redis://h:1"}, "not both"},
		{"bad url hides its password", RedisOptions{KeyPrefix: "p:", URL: "http://u:secret@h:1"}, "not a valid"},
		{"negative max size", RedisOptions{KeyPrefix: "p:", MaxSize: -1}, "negative"},
		{"negative op timeout", RedisOptions{KeyPrefix: "p:", OpTimeout: -time.Second}, "negative"},
		{"negative pool size", RedisOptions{KeyPrefix: "p:", PoolSize: -1}, "negative"},
		{"negative db", RedisOptions{KeyPrefix: "p:", DB: -1}, "negative"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRedis(tc.opts)
			require.Error(t, err)
			assert.Nil(t, r)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "secret")
		})
	}

	t.Run("defaults", func(t *testing.T) {
		r, err := NewRedis(RedisOptions{KeyPrefix: "p:"})
		require.NoError(t, err)
		defer r.Close()
		assert.Equal(t, DefaultRedisAddress, r.clientOpts.Addr)
		assert.Equal(t, DefaultRedisOpTimeout, r.opTimeout)
		assert.Equal(t, -1, r.clientOpts.MaxRetries, "go-redis must never resend a write")
		assert.True(t, r.clientOpts.ContextTimeoutEnabled)
		assert.NotNil(t, r.clock)
	})

	t.Run("url with overrides", func(t *testing.T) {
		r, err := NewRedis(RedisOptions{KeyPrefix: "p:", URL: "rediss://u:pw@example.com:6390/3", Password: "other", DB: 5, PoolSize: 7})
		require.NoError(t, err)
		defer r.Close()
		co := r.clientOpts
		assert.Equal(t, "example.com:6390", co.Addr)
		assert.Equal(t, "u", co.Username)
		assert.Equal(t, "other", co.Password)
		assert.Equal(t, 5, co.DB)
		assert.Equal(t, 7, co.PoolSize)
		require.NotNil(t, co.TLSConfig)
	})

	t.Run("tls", func(t *testing.T) {
		r, err := NewRedis(RedisOptions{KeyPrefix: "p:", Address: "cache.internal:6380", TLS: true})
		require.NoError(t, err)
		defer r.Close()
		require.NotNil(t, r.clientOpts.TLSConfig)
		assert.Equal(t, "cache.internal", r.clientOpts.TLSConfig.ServerName)
	})

	t.Run("a down server does not prevent construction", func(t *testing.T) {
		r, err := NewRedis(RedisOptions{KeyPrefix: "p:", Address: closedPort(t), OpTimeout: time.Second})
		require.NoError(t, err)
		defer r.Close()
		start := time.Now()
		_, _, err = r.Get(context.Background(), "k")
		require.ErrorIs(t, err, ErrUnavailable)
		assert.Less(t, time.Since(start), time.Second)
		assert.False(t, r.Info().Durable)
		assert.Equal(t, 0, r.Len())
	})
}

func TestRedisInfo(t *testing.T) {
	plain := redistest.StartServer(t, redistest.Options{})
	aof := redistest.StartServer(t, redistest.Options{AppendOnly: true})
	want := Info{Backend: "REDIS", Consistency: "LINEARIZABLE", List: true, Versioned: true, ConditionalPut: true, TTL: true}
	assert.Equal(t, want, newTestRedis(t, plain.Addr, RedisOptions{}).Info(), "no append-only file: not durable")
	want.Durable = true
	r := newTestRedis(t, aof.Addr, RedisOptions{})
	assert.Equal(t, want, r.Info())
	assert.Equal(t, want, r.Info(), "cached")
}

// TestRedisPrefixIsolation: two stores on one server never see each other's
// keys, whatever bytes the keys hold.
func TestRedisPrefixIsolation(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	a := newTestRedis(t, addr, RedisOptions{KeyPrefix: "wasmkv:a:"})
	b := newTestRedis(t, addr, RedisOptions{KeyPrefix: "wasmkv:b:"})
	keys := []string{"x", "k:x", ":", "\x00", "a\x00:b", "i", "v", "e", "wasmkv:b:k:x", "../wasmkv:b:x", "*", "{tag}"}
	for _, k := range keys {
		cSet(t, a, k, "from a", 0)
	}
	cSet(t, b, "x", "from b", 0)

	for _, k := range keys {
		got, ok := cGet(t, a, k)
		require.True(t, ok, "%q", k)
		assert.Equal(t, "from a", string(got.Value))
	}
	got, _ := cGet(t, b, "x")
	assert.Equal(t, "from b", string(got.Value))
	for _, k := range keys[1:] {
		assert.False(t, cHas(t, b, k), "%q leaked into b", k)
	}
	p, err := b.List(ctx, ListOptions{Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, []string{"x"}, cKeys(p))
	assert.False(t, p.HasMore)
	assert.Equal(t, 1, b.Len())
	assert.Equal(t, len(keys), a.Len())

	gone, err := b.Delete(ctx, "k:x")
	require.NoError(t, err)
	assert.False(t, gone)
	assert.True(t, cHas(t, a, "k:x"))

	// Versions are per store, as the memory engine's are per engine, and
	// every key on the server lives under one of the two prefixes.
	all, err := rawRedis(t, addr).Keys(ctx, "*").Result()
	require.NoError(t, err)
	for _, k := range all {
		assert.True(t, strings.HasPrefix(k, "wasmkv:a:") || strings.HasPrefix(k, "wasmkv:b:"), "%q", k)
	}
	assert.Len(t, all, len(keys)+1+2*2, "one hash per key, and an index and a counter per store (no ttls, so no expiry sets)")
}

// TestRedisSharedStore: two engines (two hosts) on the same store.
func TestRedisSharedStore(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	h1 := newTestRedis(t, addr, RedisOptions{KeyPrefix: "wasmkv:shared:"})
	h2 := newTestRedis(t, addr, RedisOptions{KeyPrefix: "wasmkv:shared:"})

	cSet(t, h1, "greeting", "hello", 0)
	got, ok := cGet(t, h2, "greeting")
	require.True(t, ok)
	assert.Equal(t, "hello", string(got.Value))

	// A lock taken by one blocks the other.
	_, err := h1.Put(ctx, "lock", []byte("h1"), PutOptions{OnlyIfAbsent: true, TTL: time.Minute})
	require.NoError(t, err)
	_, err = h2.Put(ctx, "lock", []byte("h2"), PutOptions{OnlyIfAbsent: true, TTL: time.Minute})
	require.ErrorIs(t, err, ErrExists)
	_, err = h1.Delete(ctx, "lock")
	require.NoError(t, err)
	_, err = h2.Put(ctx, "lock", []byte("h2"), PutOptions{OnlyIfAbsent: true, TTL: time.Minute})
	require.NoError(t, err)

	// Increments from both add up exactly.
	var wg sync.WaitGroup
	for _, h := range []*Redis{h1, h2} {
		for range 4 {
			wg.Go(func() {
				for range 125 {
					_, err := h.Update(ctx, "n", incrMutate)
					assert.NoError(t, err)
				}
			})
		}
	}
	wg.Wait()
	n, _ := cGet(t, h1, "n")
	assert.Equal(t, "1000", string(n.Value))
}

// TestRedisVersionsSurviveRestart: with an append-only file, a server
// restart keeps both the entries and the version counter.
func TestRedisVersionsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartServer(t, redistest.Options{AppendOnly: true})
	opts := RedisOptions{KeyPrefix: "wasmkv:s:"}
	r := newTestRedis(t, srv.Addr, opts)
	cSet(t, r, "k", "v", 0)
	cSet(t, r, "other", "v", 0)
	before, ok := cGet(t, r, "k")
	require.True(t, ok)

	srv.Stop()
	srv.Start()

	// The old engine reconnects, and a new one (a restarted host) agrees.
	for _, e := range []Engine{r, newTestRedis(t, srv.Addr, opts)} {
		after, ok := cGet(t, e, "k")
		require.True(t, ok)
		assert.Equal(t, before.Version, after.Version)
		assert.Equal(t, "v", string(after.Value))
	}
	cSet(t, r, "k", "v2", 0)
	rewritten, _ := cGet(t, r, "k")
	assert.Greater(t, rewritten.Version, before.Version)
	created, err := r.Put(ctx, "new", []byte("v"), PutOptions{})
	require.NoError(t, err)
	assert.Greater(t, created.Version, rewritten.Version)
}

// timeoutSlack is what a call may take past its OpTimeout in the tests. It tells the
// engine's own bound from the ones it would otherwise fall back on (go-redis's 3 s read
// timeout, its 4 s pool wait, or none), with room for a slow machine under -race, rather
// than checking how promptly this machine hands back a timed-out call.
const timeoutSlack = 1500 * time.Millisecond

// TestRedisUnavailable stops the server mid-test: every call fails with
// ErrUnavailable within OpTimeout, and the first call after the server is
// back works. No acknowledged write is lost (the server has an AOF).
func TestRedisUnavailable(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartServer(t, redistest.Options{AppendOnly: true})
	const opTimeout = 500 * time.Millisecond
	const slack = timeoutSlack
	r := newTestRedis(t, srv.Addr, RedisOptions{OpTimeout: opTimeout, PoolSize: 2})
	cSet(t, r, "acked", "v", 0)
	_, err := r.Put(ctx, "cas", []byte("0"), PutOptions{})
	require.NoError(t, err)

	srv.Stop()
	ops := map[string]func() error{
		"get": func() error { _, _, err := r.Get(ctx, "acked"); return err },
		"set": func() error { return r.Set(ctx, "k", []byte("v"), 0) },
		"has": func() error { _, err := r.Has(ctx, "acked"); return err },
		"delete": func() error {
			_, err := r.Delete(ctx, "acked")
			return err
		},
		"put": func() error {
			_, err := r.Put(ctx, "p", []byte("v"), PutOptions{OnlyIfAbsent: true})
			return err
		},
		"update": func() error { _, err := r.Update(ctx, "n", incrMutate); return err },
		"list":   func() error { _, err := r.List(ctx, ListOptions{Limit: 10}); return err },
	}
	// More failed calls than the pool has connections: go-redis then stops
	// dialing until a background probe succeeds, which the engine must
	// not wait for.
	for range 3 {
		for name, op := range ops {
			start := time.Now()
			err := op()
			require.ErrorIs(t, err, ErrUnavailable, name)
			assert.NotErrorIs(t, err, context.DeadlineExceeded, "%s: the host would report TIMEOUT instead of UNAVAILABLE", name)
			assert.Less(t, time.Since(start), opTimeout+slack, name)
		}
	}
	assert.Equal(t, 0, r.Len())
	assert.GreaterOrEqual(t, r.Metrics().Errors, uint64(3*len(ops)))

	srv.Start()
	got, ok, err := r.Get(ctx, "acked")
	require.NoError(t, err, "the first call after the server is back works")
	require.True(t, ok, "an acknowledged write survives")
	assert.Equal(t, "v", string(got.Value))
	for name, op := range ops {
		require.NoError(t, op(), name)
	}
}

// TestRedisTimeouts: a server that accepts but never answers, or answers
// too late, gives ErrUnavailable within OpTimeout, and a write whose reply
// never came is never reported as a success.
func TestRedisTimeouts(t *testing.T) {
	ctx := context.Background()
	const opTimeout = 300 * time.Millisecond
	const slack = timeoutSlack

	t.Run("a server that never answers", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		var mu sync.Mutex
		var conns []net.Conn
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c) // hold it open, read nothing, say nothing
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			_ = l.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				_ = c.Close()
			}
		})
		r := newTestRedis(t, l.Addr().String(), RedisOptions{OpTimeout: opTimeout})
		for _, op := range []func() error{
			func() error { _, _, err := r.Get(ctx, "k"); return err },
			func() error { return r.Set(ctx, "k", []byte("v"), 0) },
		} {
			start := time.Now()
			err := op()
			require.ErrorIs(t, err, ErrUnavailable)
			assert.NotErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), opTimeout+slack)
		}
	})

	t.Run("a write whose reply comes too late", func(t *testing.T) {
		addr := redistest.Start(t)
		r := newTestRedis(t, addr, RedisOptions{OpTimeout: opTimeout, PoolSize: 1})
		cSet(t, r, "k", "old", 0) // a connection is open before the pause
		require.NoError(t, rawRedis(t, addr).Do(ctx, "CLIENT", "PAUSE", "800", "ALL").Err())
		start := time.Now()
		err := r.Set(ctx, "k", []byte("new"), 0)
		require.ErrorIs(t, err, ErrUnavailable, "outcome unknown: never a success")
		assert.Less(t, time.Since(start), opTimeout+slack)

		// The caller's own deadline is reported as such.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, _, err = r.Get(short, "k")
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorIs(t, err, context.DeadlineExceeded)

		deadline := time.Now().Add(5 * time.Second)
		for {
			_, _, err := r.Get(ctx, "k")
			if err == nil {
				break
			}
			require.True(t, time.Now().Before(deadline), "the engine did not recover after the pause: %v", err)
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestRedisListCleansExpiredIndex: a list walks past a long run of expired
// keys (more than one script call's budget), removes them from the index,
// and still gives the exact page and has_more.
func TestRedisListCleansExpiredIndex(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	r := newTestRedis(t, addr, RedisOptions{})
	// A few keys expire (time passes for them on the server); thousands more
	// are left in the state Redis leaves an expired key in: index entries
	// whose hash is gone. Writing those directly keeps the test fast.
	for i := range 5 {
		cSet(t, r, fmt.Sprintf("x/%05d", i), "v", time.Hour)
	}
	const n = 3*listDeadBudget + 10
	pipe := rawRedis(t, addr).Pipeline()
	past := float64(time.Now().Add(-time.Hour).UnixMilli())
	for i := 5; i < n; i++ {
		k := fmt.Sprintf("x/%05d", i)
		pipe.ZAdd(ctx, r.indexKey, redis.Z{Member: k})
		pipe.ZAdd(ctx, r.expiryKey, redis.Z{Member: k, Score: past})
	}
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
	cSet(t, r, "y", "live", 0)
	cSet(t, r, "a", "live", 0)
	passRedisTime(t, rawRedis(t, addr), r, time.Hour)
	require.Greater(t, r.Len(), 3*listDeadBudget, "the writes reap only a few expired keys each")

	p, err := r.List(ctx, ListOptions{After: "a", Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"y"}, cKeys(p))
	assert.False(t, p.HasMore)
	assert.Equal(t, 2, r.Len(), "the walk removed every expired key from the index")
	p, err = r.List(ctx, ListOptions{Prefix: "x/", Limit: 5})
	require.NoError(t, err)
	assert.Empty(t, p.Items)
	assert.False(t, p.HasMore)
	exp, err := rawRedis(t, addr).ZCard(ctx, r.expiryKey).Result()
	require.NoError(t, err)
	assert.Zero(t, exp, "and from the expiry set")
}

// TestRedisScriptCacheFlush: after SCRIPT FLUSH (or a server restart without
// persistence) the scripts are loaded again.
func TestRedisScriptCacheFlush(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	r := newTestRedis(t, addr, RedisOptions{})
	cSet(t, r, "k", "v", 0)
	require.NoError(t, rawRedis(t, addr).ScriptFlush(ctx).Err())
	cSet(t, r, "k2", "v", 0)
	_, ok := cGet(t, r, "k")
	assert.True(t, ok)
	p, err := r.List(ctx, ListOptions{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []string{"k", "k2"}, cKeys(p))
	gone, err := r.Delete(ctx, "k")
	require.NoError(t, err)
	assert.True(t, gone)
}

// TestRedisServerErrorIsUnavailable: a command the server refuses is an
// ErrUnavailable error, not a crash or a silent success.
func TestRedisServerErrorIsUnavailable(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	r := newTestRedis(t, addr, RedisOptions{})
	require.NoError(t, rawRedis(t, addr).Set(ctx, r.indexKey, "not a sorted set", 0).Err())
	err := r.Set(ctx, "k", []byte("v"), 0)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "WRONGTYPE")
	_, err = r.List(ctx, ListOptions{Limit: 1})
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestRedisTTLIsWholeMilliseconds(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	r := newTestRedis(t, addr, RedisOptions{})
	raw := rawRedis(t, addr)
	for _, tc := range []struct {
		ttl    time.Duration
		wantMS int64
	}{
		{time.Nanosecond, 1},
		{1500 * time.Microsecond, 2},
		{time.Hour, 3600000},
		{3_153_600_000 * time.Second, 3_153_600_000_000}, // 100 years, the longest ttl a store accepts
	} {
		// Bounds from the real time the calls took, not from a guess at machine speed.
		want := time.Duration(tc.wantMS) * time.Millisecond
		before := time.Now()
		e, err := r.Put(ctx, "k", []byte("v"), PutOptions{TTL: tc.ttl})
		after := time.Now()
		require.NoError(t, err)
		assert.False(t, e.ExpiresAt.Before(before.Add(want)), "%v: expires at %v", tc.ttl, e.ExpiresAt)
		assert.False(t, e.ExpiresAt.After(after.Add(want)), "%v: expires at %v", tc.ttl, e.ExpiresAt)
		pttl, err := raw.PTTL(ctx, r.dataPrefix+"k").Result()
		require.NoError(t, err)
		if tc.wantMS > 1000 { // shorter ones may have run out already
			assert.LessOrEqual(t, pttl, want, "%v", tc.ttl)
			assert.GreaterOrEqual(t, pttl, want-time.Since(before)-time.Millisecond, "%v", tc.ttl)
		}
		// The server runs on this machine: its TIME is this clock, to the millisecond.
		score, err := raw.ZScore(ctx, r.expiryKey, "k").Result()
		require.NoError(t, err)
		assert.GreaterOrEqual(t, score, float64(before.UnixMilli()+tc.wantMS-1), "the expiry index holds the deadline")
		assert.LessOrEqual(t, score, float64(time.Now().UnixMilli()+tc.wantMS+1), "the expiry index holds the deadline")
	}
}

func TestRedisMetrics(t *testing.T) {
	ctx := context.Background()
	r := newTestRedis(t, redistest.Start(t), RedisOptions{})
	cSet(t, r, "k", "v", 0)
	_, _ = cGet(t, r, "k")
	_, err := r.Put(ctx, "k", []byte("v"), PutOptions{OnlyIfAbsent: true})
	require.ErrorIs(t, err, ErrExists)
	_, err = r.Update(ctx, "k", func(Entry, bool) ([]byte, time.Duration, error) { return nil, 0, errors.New("no") })
	require.Error(t, err)
	_ = r.Len() // not an engine call for the metrics

	m := r.Metrics()
	assert.Equal(t, uint64(4), m.Ops)
	assert.Equal(t, uint64(0), m.Errors, "outcomes are not errors")
	var sum uint64
	for _, n := range m.Latency {
		sum += n
	}
	assert.Equal(t, m.Ops, sum, "every call lands in one latency bucket")

	down := newTestRedis(t, closedPort(t), RedisOptions{OpTimeout: 200 * time.Millisecond})
	_, _, err = down.Get(ctx, "k")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, Metrics{Ops: 1, Errors: 1, Latency: down.Metrics().Latency}, down.Metrics())
}

func TestRedisClose(t *testing.T) {
	r := newTestRedis(t, redistest.Start(t), RedisOptions{})
	cSet(t, r, "k", "v", 0)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "idempotent")
	_, _, err := r.Get(context.Background(), "k")
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestPrefixSuccessor(t *testing.T) {
	for _, tc := range []struct {
		prefix, want string
		ok           bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"a/", "a0", true},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\xff", "", false},
		{"\xff\xff", "", false},
		{"\x00", "\x01", true},
		{"ab\xfe", "ab\xff", true},
	} {
		got, ok := prefixSuccessor(tc.prefix)
		assert.Equal(t, tc.ok, ok, "%q", tc.prefix)
		assert.Equal(t, tc.want, got, "%q", tc.prefix)
	}
}
