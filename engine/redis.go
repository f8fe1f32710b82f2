package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// ErrUnavailable wraps every failure of the backing server: it is down or
// unreachable, a call timed out (OpTimeout), the server refused a command
// (OOM, LOADING, READONLY, ...), or a write's outcome is unknown because the
// reply never came. The write may or may not have happened; it is never
// reported as a success. Callers may retry.
var ErrUnavailable = errors.New("engine: unavailable")

// Defaults for a RedisOptions field left at its zero value.
const (
	DefaultRedisAddress   = "127.0.0.1:6379"
	DefaultRedisOpTimeout = 2 * time.Second
)

// durabilityRecheck is how long Info trusts its last reading of the server's
// persistence settings before it reads them again (in the background).
const durabilityRecheck = time.Minute

// listDeadBudget bounds how many expired index entries one list script
// removes before it hands control back, so that a long run of expired keys
// never blocks the server for long.
const listDeadBudget = 1024

// RedisOptions configure NewRedis.
type RedisOptions struct {
	// Address is host:port (default 127.0.0.1:6379). URL
	// (redis://user:pass@host:port/db, or rediss:// for TLS) is the
	// alternative; setting both is an error. Username, Password, DB and TLS
	// override what the URL says when they are set.
	Address  string
	URL      string
	Username string
	Password string
	DB       int
	TLS      bool
	// KeyPrefix namespaces the store in the server: every Redis key the
	// engine touches starts with it. Required; the host passes
	// DefaultRedisKeyPrefix(store id) by default. Two stores on one server
	// must not have prefixes where one is a prefix of the other (see
	// PrefixesOverlap); the host refuses such a configuration.
	KeyPrefix string
	// PoolSize is the maximum number of connections (go-redis's default,
	// 10 per GOMAXPROCS, when 0).
	PoolSize int
	// DialTimeout, ReadTimeout and WriteTimeout are go-redis's socket
	// timeouts (its defaults when 0). OpTimeout bounds every engine call
	// regardless.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// OpTimeout bounds each engine call, retries included (default 2s). A
	// down or unreachable server gives an ErrUnavailable error within it.
	OpTimeout time.Duration
	// MaxSize is the most keys the store holds; 0 is unlimited. It is
	// enforced exactly: the count is the cardinality of the store's key
	// index, and a new key that finds the store full first purges the keys
	// that have expired, as the memory engine does. There is no LRU
	// eviction on Redis: a new key in a full store gives ErrFull.
	MaxSize int
	// Eviction is "" or "none". "lru" is refused by NewRedis: the engine
	// cannot evict (and the server's own maxmemory eviction must be off,
	// see Redis).
	Eviction string
	// Clock turns remaining ttls (PTTL) into Entry.ExpiresAt; default
	// SystemClock(). Expiry itself is decided by the server's clock.
	Clock Clock
}

// Metrics are a Redis engine's counters since NewRedis.
type Metrics struct {
	// Ops counts engine calls (Get, Set, Has, Delete, Put, Update, List).
	Ops uint64
	// Errors counts the calls that failed with ErrUnavailable. Outcomes
	// such as ErrExists, ErrConflict, ErrFull or an error from Update's
	// function are results, not errors.
	Errors uint64
	// Latency is a histogram of call durations: Latency[i] counts calls
	// that took at most MetricsLatencyBounds()[i] (and more than the bound
	// before it); the last bucket counts the slower ones.
	Latency [MetricsLatencyBuckets]uint64
}

// MetricsLatencyBuckets is the number of buckets in Metrics.Latency.
const MetricsLatencyBuckets = 16

// MetricsLatencyBounds returns the inclusive upper bounds of Metrics.Latency's
// buckets but the last, which is unbounded. It returns a copy: the bounds are
// fixed, and no importer can change them under the histogram.
func MetricsLatencyBounds() [MetricsLatencyBuckets - 1]time.Duration { return latencyBounds }

var latencyBounds = [MetricsLatencyBuckets - 1]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
}

// Redis is the engine for a store shared by many hosts: one Redis primary
// (standalone, or the primary of a replicated set; not Redis Cluster) holds
// the data, and each host's engine is a client of it.
//
// Every write is one Lua script (EVALSHA, loaded on NOSCRIPT), so the value,
// its version, its ttl and the key index change atomically; see
// redis_scripts.go for the layout. Versions come from one counter key per
// store, so they are unique per key across delete and re-create, and they
// survive a host restart (and a server restart when it persists). Update is
// optimistic: read, call the function, write on condition that the version
// is unchanged (or the key still absent), and retry on conflict until the
// call's deadline.
//
// The server must not evict keys (maxmemory-policy noeviction, or no
// maxmemory): an evicted counter or index would break versions and listing.
//
// Connection handling: go-redis's own retries are off, because retrying a
// write whose reply was lost could apply it twice or report a condition it
// caused itself as a failure. The engine retries only what never reached the
// server (a failed dial, a client being replaced). After an outage, when the
// pool's dial circuit breaker still refuses to dial although the server
// answers again, the engine replaces its client, so the first call after the
// server is back works.
type Redis struct {
	opts       RedisOptions
	clientOpts redis.Options // template; each client gets a copy
	clock      Clock
	opTimeout  time.Duration
	maxSize    string

	dataPrefix string // P + "k:"
	indexKey   string // P + "i"
	expiryKey  string // P + "e"
	counterKey string // P + "v"

	mu     sync.Mutex // guards replacing and closing the client
	client atomic.Pointer[redis.Client]
	closed atomic.Bool

	ops     atomic.Uint64
	errs    atomic.Uint64
	latency [MetricsLatencyBuckets]atomic.Uint64

	dur durability
}

var _ Engine = (*Redis)(nil)

// durability caches what the server's persistence settings say.
type durability struct {
	mu        sync.Mutex
	known     bool
	durable   bool
	checkedAt time.Time
	checking  bool
}

// NewRedis returns a Redis engine. It does not contact the server: a server
// that is down must not keep the host from starting. The first call that
// needs the server connects, and fails with ErrUnavailable if it cannot.
func NewRedis(opts RedisOptions) (*Redis, error) {
	if opts.KeyPrefix == "" {
		return nil, errors.New("engine: redis: key prefix is required")
	}
	if opts.MaxSize < 0 {
		return nil, fmt.Errorf("engine: redis: max size %d is negative", opts.MaxSize)
	}
	if opts.OpTimeout < 0 {
		return nil, fmt.Errorf("engine: redis: op timeout %s is negative", opts.OpTimeout)
	}
	if opts.PoolSize < 0 {
		return nil, fmt.Errorf("engine: redis: pool size %d is negative", opts.PoolSize)
	}
	switch opts.Eviction {
	case "", EvictionNone:
	case EvictionLRU:
		return nil, errors.New(`engine: redis: eviction "lru" is not supported: a full Redis store refuses new keys (use eviction "none")`)
	default:
		return nil, fmt.Errorf("engine: redis: unknown eviction %q (want %q)", opts.Eviction, EvictionNone)
	}
	co, err := clientOptions(opts)
	if err != nil {
		return nil, err
	}
	r := &Redis{
		opts:       opts,
		clientOpts: *co,
		clock:      opts.Clock,
		opTimeout:  opts.OpTimeout,
		maxSize:    strconv.Itoa(opts.MaxSize),
		dataPrefix: opts.KeyPrefix + "k:",
		indexKey:   opts.KeyPrefix + "i",
		expiryKey:  opts.KeyPrefix + "e",
		counterKey: opts.KeyPrefix + "v",
	}
	if r.clock == nil {
		r.clock = SystemClock()
	}
	if r.opTimeout == 0 {
		r.opTimeout = DefaultRedisOpTimeout
	}
	r.client.Store(r.newClient())
	return r, nil
}

// DefaultRedisKeyPrefix is the key prefix of a store that configures none:
// "wasmkv:" + the id's length in decimal + ":" + id + ":".
//
// No Redis key can start with the default prefixes of two different ids, so
// two stores on one server never share a key, whatever their ids (a store
// "app" and a store "app:k:vault" included). Proof: let a string s start with
// the prefixes of ids a and b. After "wasmkv:", s holds the decimal length of
// a followed by ":", and also that of b followed by ":". Decimal digits are
// never ":", so both lengths end at the same first ":" and are the same
// digits: len(a) = len(b) (strconv.Itoa writes one canonical form). The next
// len(a) bytes of s are then both a and b, so a = b. Hence for a != b neither
// prefix is a prefix of the other, and every key of the engine (data keys,
// index, expiry set, version counter) starts with its store's prefix.
func DefaultRedisKeyPrefix(id string) string {
	return "wasmkv:" + strconv.Itoa(len(id)) + ":" + id + ":"
}

// PrefixesOverlap reports whether some string starts with both a and b,
// that is whether one is a prefix of the other: two stores with such
// prefixes on one server can read and write each other's keys.
func PrefixesOverlap(a, b string) bool {
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// RedisServer names the server and database that opts point at, as
// "host:port/db", so that a caller can tell which stores share a key space.
// It reports the same errors as NewRedis for a bad address or URL.
func RedisServer(opts RedisOptions) (string, error) {
	co, err := clientOptions(opts)
	if err != nil {
		return "", err
	}
	return co.Addr + "/" + strconv.Itoa(co.DB), nil
}

// clientOptions turns opts into go-redis options.
func clientOptions(opts RedisOptions) (*redis.Options, error) {
	var co *redis.Options
	switch {
	case opts.URL != "" && opts.Address != "":
		return nil, errors.New("engine: redis: set address or url, not both")
	case opts.URL != "":
		var err error
		if co, err = redis.ParseURL(opts.URL); err != nil {
			// The URL may hold a password: do not echo it.
			return nil, errors.New("engine: redis: url is not a valid redis:// or rediss:// URL")
		}
	default:
		co = &redis.Options{Addr: opts.Address}
		if co.Addr == "" {
			co.Addr = DefaultRedisAddress
		}
	}
	if opts.Username != "" {
		co.Username = opts.Username
	}
	if opts.Password != "" {
		co.Password = opts.Password
	}
	if opts.DB < 0 {
		return nil, fmt.Errorf("engine: redis: db %d is negative", opts.DB)
	}
	if opts.DB != 0 {
		co.DB = opts.DB
	}
	if opts.TLS && co.TLSConfig == nil {
		host, _, err := net.SplitHostPort(co.Addr)
		if err != nil {
			host = co.Addr
		}
		co.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if opts.PoolSize > 0 {
		co.PoolSize = opts.PoolSize
	}
	if opts.DialTimeout != 0 {
		co.DialTimeout = opts.DialTimeout
	}
	if opts.ReadTimeout != 0 {
		co.ReadTimeout = opts.ReadTimeout
	}
	if opts.WriteTimeout != 0 {
		co.WriteTimeout = opts.WriteTimeout
	}
	co.MaxRetries = -1              // never resend a command whose reply was lost
	co.DialerRetries = 1            // a refused dial fails the call at once; the engine decides
	co.ContextTimeoutEnabled = true // OpTimeout's deadline reaches the socket
	co.DisableIdentity = true       // no CLIENT SETINFO on each connection
	co.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return co, nil
}

func (r *Redis) newClient() *redis.Client {
	co := r.clientOpts // NewClient normalises the options it is given: give it a copy
	if r.clientOpts.TLSConfig != nil {
		co.TLSConfig = r.clientOpts.TLSConfig.Clone()
	}
	return redis.NewClient(&co)
}

// Close closes the connections. It is idempotent. Calls after Close fail
// with ErrUnavailable.
func (r *Redis) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Swap(true) {
		return nil
	}
	return r.client.Load().Close()
}

// Info describes the Redis engine. Durable is true when the server writes
// an append-only file (CONFIG GET appendonly is "yes"); with the default
// appendfsync everysec, a power loss can still cost the last second. RDB
// snapshots alone do not count: they lose every acknowledged write since the
// last snapshot.
// A server that refuses CONFIG (managed services often do) or cannot be
// reached is reported as not durable until a reading succeeds; a reading is
// trusted for a minute, then refreshed in the background.
func (r *Redis) Info() Info {
	return Info{
		Backend:        "REDIS",
		Consistency:    "LINEARIZABLE",
		Durable:        r.durable(),
		List:           true,
		Versioned:      true,
		ConditionalPut: true,
		TTL:            true,
	}
}

func (r *Redis) durable() bool {
	d := &r.dur
	d.mu.Lock()
	known, durable, stale := d.known, d.durable, time.Since(d.checkedAt) > durabilityRecheck
	start := !d.checking && (!known || stale)
	if start {
		d.checking = true
	}
	d.mu.Unlock()
	switch {
	case !start:
		return durable
	case !known:
		return r.checkDurability() // the first reading is worth waiting for
	default:
		go r.checkDurability()
		return durable
	}
}

// checkDurability reads the server's persistence settings and caches them.
func (r *Redis) checkDurability() bool {
	ctx, cancel := context.WithTimeout(context.Background(), r.opTimeout)
	defer cancel()
	var cfg map[string]string
	err := r.do(ctx, func(c *redis.Client) error {
		var err error
		cfg, err = c.ConfigGet(ctx, "appendonly").Result()
		return err
	})
	d := &r.dur
	d.mu.Lock()
	defer d.mu.Unlock()
	d.checking = false
	var re redis.Error
	switch {
	case err == nil:
		d.known, d.durable = true, cfg["appendonly"] == "yes"
	case errors.As(err, &re):
		d.known, d.durable = true, false // CONFIG refused: we cannot tell, so we do not claim it
	default:
		return d.durable // unreachable: keep what we knew and ask again next time
	}
	d.checkedAt = time.Now()
	return d.durable
}

// Metrics returns a snapshot of the engine's counters.
func (r *Redis) Metrics() Metrics {
	m := Metrics{Ops: r.ops.Load(), Errors: r.errs.Load()}
	for i := range m.Latency {
		m.Latency[i] = r.latency[i].Load()
	}
	return m
}

// Len counts the keys in the store's index: live keys and expired ones not
// yet cleaned out of it. It returns 0 when the server cannot be reached.
func (r *Redis) Len() int {
	ctx, cancel := context.WithTimeout(context.Background(), r.opTimeout)
	defer cancel()
	var n int64
	_ = r.do(ctx, func(c *redis.Client) error {
		var err error
		n, err = c.ZCard(ctx, r.indexKey).Result()
		return err
	})
	return int(n)
}

// Get returns the live entry for key.
func (r *Redis) Get(ctx context.Context, key string) (Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, false, err
	}
	c := r.begin(ctx)
	defer c.cancel()
	e, ok, err := r.get(c, key)
	return e, ok, c.end(err)
}

func (r *Redis) get(c *call, key string) (Entry, bool, error) {
	now := r.clock.Now()
	var res []any
	err := r.do(c.ctx, func(cl *redis.Client) error {
		var err error
		res, err = getScript.Run(c.ctx, cl, []string{r.dataPrefix + key}).Slice()
		return err
	})
	if err != nil {
		return Entry{}, false, c.unavailable("get", err)
	}
	if len(res) == 0 {
		return Entry{}, false, nil
	}
	e, err := parseEntry(key, res, now)
	if err != nil {
		return Entry{}, false, c.unavailable("get", err)
	}
	return e, true, nil
}

// Has reports whether key is live; the server ignores expired keys.
func (r *Redis) Has(ctx context.Context, key string) (bool, error) {
	return r.isOne(ctx, "has", func(c *call, cl *redis.Client) (int64, error) {
		return cl.Exists(c.ctx, r.dataPrefix+key).Result()
	})
}

// isOne runs one command that answers a count, and reports whether the count is 1.
func (r *Redis) isOne(ctx context.Context, op string, run func(*call, *redis.Client) (int64, error)) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	c := r.begin(ctx)
	defer c.cancel()
	var n int64
	err := r.do(c.ctx, func(cl *redis.Client) error {
		var err error
		n, err = run(c, cl)
		return err
	})
	if err != nil {
		return false, c.end(c.unavailable(op, err))
	}
	return n == 1, c.end(nil)
}

// Set stores value under key, replacing its value and ttl (ttl <= 0: none).
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := r.begin(ctx)
	defer c.cancel()
	_, err := r.put(c, key, value, ttl, putPlain, 0)
	return c.end(err)
}

// Delete removes key and reports whether a live key was removed.
func (r *Redis) Delete(ctx context.Context, key string) (bool, error) {
	return r.isOne(ctx, "delete", func(c *call, cl *redis.Client) (int64, error) {
		return deleteScript.Run(c.ctx, cl, []string{r.dataPrefix + key, r.indexKey, r.expiryKey}, key).Int64()
	})
}

// Put is a conditional Set, checked and written in one script.
func (r *Redis) Put(ctx context.Context, key string, value []byte, opts PutOptions) (Entry, error) {
	if opts.OnlyIfAbsent && opts.HasIfVersion {
		return Entry{}, errPutBothConditions
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	c := r.begin(ctx)
	defer c.cancel()
	mode := putPlain
	switch {
	case opts.OnlyIfAbsent:
		mode = putIfAbsent
	case opts.HasIfVersion:
		mode = putIfVersion
	}
	e, err := r.put(c, key, value, opts.TTL, mode, opts.IfVersion)
	return e, c.end(err)
}

// Update reads key, calls fn and writes its result on condition that the key
// did not change in between (same version, or still absent); on a conflict
// it starts again, until the call's deadline. fn may therefore run more than
// once, each time on the then-current entry; only the last run's result is
// stored. An error from fn is returned unchanged and nothing is written.
func (r *Redis) Update(ctx context.Context, key string, fn Mutate) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	c := r.begin(ctx)
	defer c.cancel()
	for attempt := 0; ; attempt++ {
		cur, exists, err := r.get(c, key)
		if err != nil {
			return Entry{}, c.end(err)
		}
		if !exists {
			cur = Entry{Key: key}
		}
		value, ttl, err := fn(cur, exists)
		if err != nil {
			return Entry{}, c.end(err)
		}
		mode := putIfAbsent
		if exists {
			mode = putIfVersion
		}
		e, err := r.put(c, key, value, ttl, mode, cur.Version)
		if !errors.Is(err, ErrExists) && !errors.Is(err, ErrConflict) {
			return e, c.end(err)
		}
		// Someone wrote the key in between: back off a little (jittered,
		// growing to 8ms) and read again.
		backoff := time.Duration(rand.Int64N(int64(time.Microsecond) << min(attempt, 13)))
		select {
		case <-time.After(backoff):
		case <-c.ctx.Done():
			return Entry{}, c.end(c.unavailable("update", fmt.Errorf("no write won against concurrent writers in %d attempts: %w", attempt+1, c.ctx.Err())))
		}
	}
}

// List returns one page of live keys in byte order, from the lex index.
func (r *Redis) List(ctx context.Context, opts ListOptions) (Page, error) {
	if opts.Limit <= 0 {
		return Page{}, fmt.Errorf("engine: list: limit %d must be positive", opts.Limit)
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	c := r.begin(ctx)
	defer c.cancel()
	start := "-"
	if opts.Prefix != "" {
		start = "[" + opts.Prefix
	}
	if opts.After != "" && opts.After >= opts.Prefix {
		start = "(" + opts.After
	}
	end := "+"
	if succ, ok := prefixSuccessor(opts.Prefix); ok {
		end = "(" + succ
	}
	page := Page{Items: make([]Entry, 0, min(opts.Limit, 128))}
	for {
		now := r.clock.Now()
		var res []any
		err := r.do(c.ctx, func(cl *redis.Client) error {
			var err error
			res, err = listScript.Run(c.ctx, cl, []string{r.indexKey, r.expiryKey},
				r.dataPrefix, start, end, opts.Limit-len(page.Items), listDeadBudget).Slice()
			return err
		})
		if err != nil {
			return Page{}, c.end(c.unavailable("list", err))
		}
		status, cursor, err := parseListReply(res, now, &page)
		if err != nil {
			return Page{}, c.end(c.unavailable("list", err))
		}
		if status == 2 {
			start = "(" + cursor
			continue
		}
		page.HasMore = status == 1
		return page, c.end(nil)
	}
}

// Put modes, as the put script reads them.
const (
	putPlain     = "0"
	putIfAbsent  = "1"
	putIfVersion = "2"
)

// put runs the put script; it returns ErrExists, ErrConflict, ErrFull or an
// ErrUnavailable error.
func (r *Redis) put(c *call, key string, value []byte, ttl time.Duration, mode string, ifVersion uint64) (Entry, error) {
	var ttlMS int64
	if ttl > 0 {
		ttlMS = int64((ttl + time.Millisecond - 1) / time.Millisecond) // any positive ttl lasts at least 1 ms
	}
	if value == nil {
		value = []byte{}
	}
	now := r.clock.Now()
	var res []any
	err := r.do(c.ctx, func(cl *redis.Client) error {
		var err error
		res, err = putScript.Run(c.ctx, cl,
			[]string{r.dataPrefix + key, r.indexKey, r.expiryKey, r.counterKey},
			key, value, ttlMS, mode, strconv.FormatUint(ifVersion, 10), r.maxSize, r.dataPrefix).Slice()
		return err
	})
	if err != nil {
		return Entry{}, c.unavailable("write", err)
	}
	status, _ := firstString(res)
	switch status {
	case "OK":
	case "EXISTS":
		return Entry{}, ErrExists
	case "CONFLICT":
		return Entry{}, ErrConflict
	case "FULL":
		return Entry{}, ErrFull
	default:
		return Entry{}, c.unavailable("write", fmt.Errorf("unexpected reply %v", res))
	}
	if len(res) != 2 {
		return Entry{}, c.unavailable("write", fmt.Errorf("unexpected reply %v", res))
	}
	ver, err := parseVersion(res[1])
	if err != nil {
		return Entry{}, c.unavailable("write", err)
	}
	e := Entry{Key: key, Value: bytes.Clone(value), Version: ver}
	if ttlMS > 0 {
		e.ExpiresAt = now.Add(time.Duration(ttlMS) * time.Millisecond)
	}
	return e, nil
}

// do runs f with the current client. It retries only failures where the
// command provably never reached the server: a dial that failed (possibly
// refused by the pool's circuit breaker while the server is back, in which
// case the client is replaced), or a client closed under us by such a
// replacement.
func (r *Redis) do(ctx context.Context, f func(*redis.Client) error) error {
	for attempt := 0; ; attempt++ {
		if r.closed.Load() {
			return errEngineClosed
		}
		cl := r.client.Load()
		err := f(cl)
		if err == nil || attempt == 3 || ctx.Err() != nil {
			return err
		}
		switch {
		case errors.Is(err, redis.ErrClosed):
			continue // replaced by another call: use the new client
		case isDialError(err):
			if !r.probe(ctx, cl) {
				return err
			}
			r.replaceClient(cl)
		default:
			return err
		}
	}
}

var errEngineClosed = errors.New("engine is closed")

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// probe dials the server directly, bypassing the pool: it tells a server
// that is still down from a pool that has not noticed it is back.
func (r *Redis) probe(ctx context.Context, cl *redis.Client) bool {
	o := cl.Options()
	network := o.Network
	if network == "" {
		network = "tcp"
	}
	var d net.Dialer
	if o.DialTimeout > 0 {
		d.Timeout = o.DialTimeout
	}
	conn, err := d.DialContext(ctx, network, o.Addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// replaceClient swaps old for a fresh client, unless another call did it.
func (r *Redis) replaceClient(old *redis.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() || r.client.Load() != old {
		return
	}
	r.client.Store(r.newClient())
	// Calls still running on old finish within their OpTimeout; calls that
	// pick it up later fail to dial and move on to the new client.
	time.AfterFunc(r.opTimeout, func() { _ = old.Close() })
}

// call is one engine call: its deadline and its metrics.
type call struct {
	r      *Redis
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
	start  time.Time
}

func (r *Redis) begin(ctx context.Context) *call {
	c := &call{r: r, parent: ctx, start: time.Now()}
	c.ctx, c.cancel = context.WithTimeout(ctx, r.opTimeout)
	return c
}

// end records the call in the metrics and returns err.
func (c *call) end(err error) error {
	d := time.Since(c.start)
	c.r.ops.Add(1)
	if errors.Is(err, ErrUnavailable) {
		c.r.errs.Add(1)
	}
	b := len(latencyBounds)
	for i, bound := range latencyBounds {
		if d <= bound {
			b = i
			break
		}
	}
	c.r.latency[b].Add(1)
	return err
}

// unavailable wraps a failure of the server in ErrUnavailable. When the
// caller's own context ended, its error is wrapped too, so a caller can tell
// its deadline from the engine's OpTimeout; the OpTimeout alone is not a
// context error for the caller, only an unavailable server.
func (c *call) unavailable(op string, err error) error {
	if perr := c.parent.Err(); perr != nil {
		return fmt.Errorf("%w: redis %s: %w", ErrUnavailable, op, perr)
	}
	// A socket deadline taken from the caller's context can fire a moment before the
	// context itself says it is done: past the caller's deadline, it is the caller's.
	if d, ok := c.parent.Deadline(); ok && !time.Now().Before(d) {
		return fmt.Errorf("%w: redis %s: %w", ErrUnavailable, op, context.DeadlineExceeded)
	}
	if c.ctx.Err() != nil {
		return fmt.Errorf("%w: redis %s: no reply within %s: %v", ErrUnavailable, op, c.r.opTimeout, err)
	}
	return fmt.Errorf("%w: redis %s: %v", ErrUnavailable, op, err)
}

// parseEntry reads {value, version, pttl} from a script reply.
func parseEntry(key string, res []any, now time.Time) (Entry, error) {
	if len(res) != 3 {
		return Entry{}, fmt.Errorf("unexpected entry reply of %d items", len(res))
	}
	value, ok := res[0].(string)
	if !ok {
		return Entry{}, fmt.Errorf("unexpected value %T", res[0])
	}
	ver, err := parseVersion(res[1])
	if err != nil {
		return Entry{}, err
	}
	pttl, ok := res[2].(int64)
	if !ok {
		return Entry{}, fmt.Errorf("unexpected pttl %T", res[2])
	}
	e := Entry{Key: key, Value: []byte(value), Version: ver}
	if pttl >= 0 {
		e.ExpiresAt = now.Add(time.Duration(pttl) * time.Millisecond)
	}
	return e, nil
}

func parseVersion(v any) (uint64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("unexpected version %T", v)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad version %q", s)
	}
	return n, nil
}

// parseListReply appends the entries of a list script reply to page and
// returns its status and cursor.
func parseListReply(res []any, now time.Time, page *Page) (int64, string, error) {
	if len(res) < 2 || (len(res)-2)%4 != 0 {
		return 0, "", fmt.Errorf("unexpected list reply of %d items", len(res))
	}
	status, ok := res[0].(int64)
	if !ok {
		return 0, "", fmt.Errorf("unexpected list status %T", res[0])
	}
	cursor, ok := res[1].(string)
	if !ok {
		return 0, "", fmt.Errorf("unexpected list cursor %T", res[1])
	}
	for i := 2; i < len(res); i += 4 {
		key, ok := res[i].(string)
		if !ok {
			return 0, "", fmt.Errorf("unexpected list key %T", res[i])
		}
		e, err := parseEntry(key, res[i+1:i+4], now)
		if err != nil {
			return 0, "", err
		}
		page.Items = append(page.Items, e)
	}
	return status, cursor, nil
}

func firstString(res []any) (string, bool) {
	if len(res) == 0 {
		return "", false
	}
	s, ok := res[0].(string)
	return s, ok
}

// prefixSuccessor returns the smallest string greater than every string
// that starts with prefix, or false when there is none (the prefix is empty
// or all 0xff bytes).
func prefixSuccessor(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
