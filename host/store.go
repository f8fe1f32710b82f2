package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/govalue"
	"github.com/wasmkv/wasmkv/policy"
)

// Store is one configured store: an engine and the limits the host enforces on it.
//
// Its methods are the Go side of the store, for applications that share data with their
// scripts. They are the operations of the Lua API with its rules and limits (key and
// value sizes, the ttl range, list limits), minus the policy: Go callers are trusted.
// Values are encoded and decoded by package govalue and checked by the rules scripts'
// values are, so either side reads what the other wrote. Every error they return is an
// *Error with the kind and message a script would see.
type Store struct {
	id     string
	engine engine.Engine
	// clock is the engine's: it turns an entry's ExpiresAt into the ttl left.
	clock         engine.Clock
	maxKeyBytes   int
	maxValueBytes int
}

func newStore(id string, sc StoreConfig, clock engine.Clock) (*Store, error) {
	if sc.Kind == "redis" {
		// Expiry on Redis is the server's; the engine turns remaining ttls into
		// deadlines on the real clock, so the store reads them back on it too.
		clock = engine.SystemClock()
	}
	s := &Store{id: id, clock: clock, maxKeyBytes: sc.MaxKeyBytes, maxValueBytes: sc.MaxValueBytes}
	if s.maxKeyBytes == 0 {
		s.maxKeyBytes = DefaultMaxKeyBytes
	}
	if s.maxValueBytes == 0 {
		s.maxValueBytes = DefaultMaxValueBytes
	}
	eng, err := newEngine(id, sc, clock)
	if err != nil {
		return nil, configErrorf("store %q: %v", id, err)
	}
	s.engine = eng
	return s, nil
}

func newEngine(id string, sc StoreConfig, clock engine.Clock) (engine.Engine, error) {
	if sc.Kind != "redis" {
		var protect func(string) bool
		if len(sc.Protect) > 0 {
			protect = policy.GlobMatcher(sc.Protect)
		}
		return engine.NewMemory(engine.MemoryOptions{
			MaxSize:         sc.MaxSize,
			CleanupInterval: sc.CleanupInterval,
			Eviction:        sc.Eviction,
			Clock:           clock,
			Protect:         protect,
		})
	}
	password := sc.Password
	if sc.PasswordEnv != "" {
		var ok bool
		if password, ok = os.LookupEnv(sc.PasswordEnv); !ok {
			return nil, fmt.Errorf("password_env %s is not set", sc.PasswordEnv)
		}
	}
	prefix := sc.KeyPrefix
	if prefix == "" {
		prefix = engine.DefaultRedisKeyPrefix(id)
	}
	return engine.NewRedis(engine.RedisOptions{
		Address: sc.Address, URL: sc.URL, Username: sc.Username, Password: password,
		DB: sc.DB, TLS: sc.TLS, KeyPrefix: prefix, PoolSize: sc.PoolSize,
		DialTimeout: sc.DialTimeout, ReadTimeout: sc.ReadTimeout, WriteTimeout: sc.WriteTimeout,
		OpTimeout: sc.OpTimeout, MaxSize: sc.MaxSize, Eviction: sc.Eviction,
	})
}

// Metrics returns the store's operation counters and latency histogram, for engines
// that keep them (redis).
func (s *Store) Metrics() (engine.Metrics, bool) {
	m, ok := s.engine.(interface{ Metrics() engine.Metrics })
	if !ok {
		return engine.Metrics{}, false
	}
	return m.Metrics(), true
}

// ID returns the store's id.
func (s *Store) ID() string { return s.id }

// Entry is a live key with its value, version and the time it has left, as a script's
// entry, put and list see it.
type Entry struct {
	Key string
	// Value is the value's CBOR encoding, as the store keeps it; Decode reads it.
	Value []byte
	// Version is opaque and changes on every write of the key; PutOptions.IfVersion
	// takes it.
	Version string
	// TTL is the time left before the key expires; 0 when it has no expiry.
	TTL time.Duration
}

// Decode decodes the entry's value into v, as Store.Get does.
func (e Entry) Decode(v any) error {
	if err := govalue.Unmarshal(e.Value, v); err != nil {
		return abi.NewError(abi.Invalid, fmt.Sprintf("value of key %s does not decode into %T: %v", quoteKey(e.Key), v, err))
	}
	return nil
}

// PutOptions are the conditions and ttl of Store.Put, as a script's put options.
type PutOptions struct {
	// TTL is the key's time to live; 0: no expiry.
	TTL time.Duration
	// OnlyIfAbsent fails the put with AlreadyExists when the key is live.
	OnlyIfAbsent bool
	// IfVersion, when not empty, fails the put with Conflict (retryable) unless the key
	// is live with this version. It cannot be combined with OnlyIfAbsent.
	IfVersion string
}

// ListOptions select one page of Store.List, as a script's list options.
type ListOptions struct {
	// Prefix selects the keys that start with it ("" all).
	Prefix string
	// After is the cursor: only keys after it are listed. Pass the previous page's Cursor.
	After string
	// Limit is the page size: 0 means abi.DefaultListLimit, at most abi.MaxListLimit.
	Limit int
}

// Page is one page of Store.List, in byte order of the keys.
type Page struct {
	Items []Entry
	// Cursor continues the listing after this page, as the next ListOptions.After.
	Cursor string
	// HasMore is true exactly when another live key after this page has the prefix.
	HasMore bool
}

// Get decodes the value of key into v. found is false when the key is missing or expired.
func (s *Store) Get(ctx context.Context, key string, v any) (found bool, err error) {
	ent, found, err := s.Entry(ctx, key)
	if err != nil || !found {
		return false, err
	}
	return true, ent.Decode(v)
}

// Set stores v under key with a ttl (0: no expiry), replacing its value and ttl.
func (s *Store) Set(ctx context.Context, key string, v any, ttl time.Duration) error {
	val, ttl, e := s.checkWrite(key, v, ttl)
	if e != nil {
		return e
	}
	if err := s.engine.Set(ctx, key, val, ttl); err != nil {
		return engineError(err)
	}
	return nil
}

// Has reports whether key holds a live value.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	if e := abi.CheckKey(key, s.maxKeyBytes); e != nil {
		return false, e
	}
	ok, err := s.engine.Has(ctx, key)
	if err != nil {
		return false, engineError(err)
	}
	return ok, nil
}

// Delete removes key and reports whether a live value was removed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	if e := abi.CheckKey(key, s.maxKeyBytes); e != nil {
		return false, e
	}
	ok, err := s.engine.Delete(ctx, key)
	if err != nil {
		return false, engineError(err)
	}
	return ok, nil
}

// Entry returns key's value with its version and ttl. found is false when the key is
// missing or expired.
func (s *Store) Entry(ctx context.Context, key string) (e Entry, found bool, err error) {
	if e := abi.CheckKey(key, s.maxKeyBytes); e != nil {
		return Entry{}, false, e
	}
	ent, ok, gerr := s.engine.Get(ctx, key)
	if gerr != nil {
		return Entry{}, false, engineError(gerr)
	}
	if !ok {
		return Entry{}, false, nil
	}
	return s.goEntry(ent), true, nil
}

// Put stores v under key if its condition holds, and returns the entry written. A live
// key fails OnlyIfAbsent with AlreadyExists; a missing key or another version fails
// IfVersion with Conflict.
func (s *Store) Put(ctx context.Context, key string, v any, opts PutOptions) (Entry, error) {
	val, ttl, e := s.checkWrite(key, v, opts.TTL)
	if e != nil {
		return Entry{}, e
	}
	var ifVersion *string
	if opts.IfVersion != "" {
		ifVersion = &opts.IfVersion
	}
	if e := checkPut(opts.OnlyIfAbsent, ifVersion); e != nil {
		return Entry{}, e
	}
	ent, e := s.put(ctx, key, val, ttl, opts.OnlyIfAbsent, ifVersion)
	if e != nil {
		return Entry{}, e
	}
	return s.goEntry(ent), nil
}

// Incr adds delta to the number at key and returns the result, atomically. A missing key
// counts as 0 and takes ttl; an existing key keeps its expiry. A value that is not a
// number is Invalid, and stays as it was.
func (s *Store) Incr(ctx context.Context, key string, delta float64, ttl time.Duration) (float64, error) {
	if e := abi.CheckKey(key, s.maxKeyBytes); e != nil {
		return 0, e
	}
	ttl, e := checkTTL(ttl)
	if e != nil {
		return 0, e
	}
	if e := checkDelta(delta); e != nil {
		return 0, e
	}
	n, e := s.incr(ctx, key, delta, ttl)
	if e != nil {
		return 0, e
	}
	return n, nil
}

// List returns one page of the live keys with opts.Prefix after opts.After.
func (s *Store) List(ctx context.Context, opts ListOptions) (Page, error) {
	limit, e := s.checkList([]byte(opts.Prefix), []byte(opts.After), int64(opts.Limit))
	if e != nil {
		return Page{}, e
	}
	items, more, e := s.list(ctx, opts.Prefix, opts.After, limit)
	if e != nil {
		return Page{}, e
	}
	page := Page{Items: make([]Entry, len(items)), Cursor: opts.After, HasMore: more}
	for i, it := range items {
		page.Items[i] = s.goEntry(it)
	}
	if len(items) > 0 {
		page.Cursor = items[len(items)-1].Key
	}
	return page, nil
}

// Info describes the store, as a script's info() does.
func (s *Store) Info() abi.Info {
	i := s.engine.Info()
	return abi.Info{ID: s.id, Backend: i.Backend, Consistency: i.Consistency, Durable: i.Durable,
		List: i.List, Versioned: i.Versioned, ConditionalPut: i.ConditionalPut, TTL: i.TTL}
}

// The checks below are the store's rules, shared by the Go methods above and by the
// guest's requests (ops.go), which run them before the policy decides.

// checkWrite checks a Go write's key and ttl, then encodes v and checks the value. It
// returns the value and the ttl to write.
func (s *Store) checkWrite(key string, v any, ttl time.Duration) ([]byte, time.Duration, *abi.Error) {
	if e := abi.CheckKey(key, s.maxKeyBytes); e != nil {
		return nil, 0, e
	}
	ttl, e := checkTTL(ttl)
	if e != nil {
		return nil, 0, e
	}
	val, err := govalue.Marshal(v)
	if err != nil {
		return nil, 0, abi.NewError(abi.Invalid, "value: "+err.Error())
	}
	if e := abi.CheckValue(val, s.maxValueBytes); e != nil {
		return nil, 0, e
	}
	return val, ttl, nil
}

// checkTTL checks a Go caller's ttl by the rule of a script's, abi.TTLMillis, and
// rounds it to whole milliseconds the same way (a positive ttl lasts at least 1 ms):
// the ABI's and Redis's resolution, so a Go write expires when a script's write with
// the same ttl does, on every engine.
func checkTTL(ttl time.Duration) (time.Duration, *abi.Error) {
	ms, e := abi.TTLMillis(ttl.Seconds())
	if e != nil {
		return 0, e
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// checkPut refuses a put with both conditions.
func checkPut(onlyIfAbsent bool, ifVersion *string) *abi.Error {
	if onlyIfAbsent && ifVersion != nil {
		return abi.NewError(abi.Invalid, "only_if_absent and if_version cannot be used together")
	}
	return nil
}

// checkDelta refuses an increment that would make the number NaN or infinite.
func checkDelta(delta float64) *abi.Error {
	if math.IsNaN(delta) || math.IsInf(delta, 0) {
		return abi.NewError(abi.Invalid, "delta must be a finite number")
	}
	return nil
}

// checkList checks a list's cursor and limit, and returns the page size to ask for.
func (s *Store) checkList(prefix, after []byte, limit int64) (int, *abi.Error) {
	switch {
	case limit == 0:
		limit = abi.DefaultListLimit
	case limit < 0 || limit > abi.MaxListLimit:
		return 0, abi.NewError(abi.Invalid, fmt.Sprintf("limit %d is out of range (an integer from 1 to %d)", limit, abi.MaxListLimit))
	}
	if len(prefix) > s.maxKeyBytes || len(after) > s.maxKeyBytes {
		return 0, abi.NewError(abi.Invalid, fmt.Sprintf("prefix and cursor must be at most max_key_bytes %d", s.maxKeyBytes))
	}
	return int(limit), nil
}

// The operations below run on checked arguments, for both the Go methods and the
// guest's requests.

// put is a conditional write of an encoded value.
func (s *Store) put(ctx context.Context, key string, val []byte, ttl time.Duration, onlyIfAbsent bool, ifVersion *string) (engine.Entry, *abi.Error) {
	opts := engine.PutOptions{TTL: ttl, OnlyIfAbsent: onlyIfAbsent}
	if ifVersion != nil {
		v, err := strconv.ParseUint(*ifVersion, 10, 64)
		if err != nil {
			// No write ever had this version, so it cannot match.
			return engine.Entry{}, errConflict(key)
		}
		opts.IfVersion, opts.HasIfVersion = v, true
	}
	ent, err := s.engine.Put(ctx, key, val, opts)
	switch {
	case errors.Is(err, engine.ErrExists):
		return engine.Entry{}, abi.NewError(abi.AlreadyExists, fmt.Sprintf("key %s already exists", quoteKey(key)))
	case errors.Is(err, engine.ErrConflict):
		return engine.Entry{}, errConflict(key)
	case err != nil:
		return engine.Entry{}, engineError(err)
	}
	return ent, nil
}

// errConflict is a failed if_version. It is retryable: the caller re-reads and tries again.
func errConflict(key string) *abi.Error {
	e := abi.NewError(abi.Conflict, fmt.Sprintf("key %s does not have the expected version", quoteKey(key)))
	e.Retryable = true
	return e
}

// errNotNumber is returned from the incr mutation to leave the value untouched.
type errNotNumber struct{ key string }

func (e errNotNumber) Error() string { return "not a number" }

// errOverflow is an incr whose result is too large for a number: the value stays.
type errOverflow struct{}

func (errOverflow) Error() string { return "overflow" }

// incr adds delta to the number at key, atomically.
func (s *Store) incr(ctx context.Context, key string, delta float64, ttl time.Duration) (float64, *abi.Error) {
	var result float64
	_, err := s.engine.Update(ctx, key, func(cur engine.Entry, exists bool) ([]byte, time.Duration, error) {
		if !exists {
			result = delta
			return abi.EncodeNumber(result), ttl, nil
		}
		n, ok := abi.DecodeNumber(cur.Value)
		if !ok {
			return nil, 0, errNotNumber{key}
		}
		result = n + delta
		if math.IsInf(result, 0) {
			return nil, 0, errOverflow{}
		}
		// An existing key keeps its expiry; ttl only applies to a new key.
		return abi.EncodeNumber(result), s.ttlLeft(cur), nil
	})
	var nn errNotNumber
	var of errOverflow
	switch {
	case errors.As(err, &nn):
		return 0, abi.NewError(abi.Invalid, fmt.Sprintf("value of key %s is not a number", quoteKey(key)))
	case errors.As(err, &of):
		return 0, abi.NewError(abi.Invalid, fmt.Sprintf("incr of key %s by %v would overflow to infinity", quoteKey(key), delta))
	case err != nil:
		return 0, engineError(err)
	}
	return result, nil
}

// list reads one page, ending it early (more set) when its values would pass
// abi.MaxPageBytes, so that a page of large values still fits a response.
func (s *Store) list(ctx context.Context, prefix, after string, limit int) (items []engine.Entry, more bool, e *abi.Error) {
	page, err := s.engine.List(ctx, engine.ListOptions{Prefix: prefix, After: after, Limit: limit})
	if err != nil {
		return nil, false, engineError(err)
	}
	size := 0
	for i, it := range page.Items {
		if size += len(it.Key) + len(it.Value); size > abi.MaxPageBytes && i > 0 {
			return page.Items[:i], true, nil // the rest comes on the next page
		}
	}
	return page.Items, page.HasMore, nil
}

// ttlLeft is the time an entry has left: 0 when it has no expiry, else at least 1 ms,
// so that a key expiring as we read it is never reported (or rewritten) as permanent.
func (s *Store) ttlLeft(e engine.Entry) time.Duration {
	if e.ExpiresAt.IsZero() {
		return 0
	}
	return max(e.ExpiresAt.Sub(s.clock.Now()), time.Millisecond)
}

// goEntry is an engine entry for Go callers.
func (s *Store) goEntry(e engine.Entry) Entry {
	return Entry{Key: e.Key, Value: e.Value, Version: strconv.FormatUint(e.Version, 10), TTL: s.ttlLeft(e)}
}

// wireEntry is an engine entry for a guest, with the ttl left in milliseconds.
func (s *Store) wireEntry(e engine.Entry) *abi.Entry {
	out := &abi.Entry{Key: []byte(e.Key), Value: e.Value, Version: strconv.FormatUint(e.Version, 10)}
	if d := s.ttlLeft(e); d > 0 {
		ms := d.Milliseconds()
		out.TTL = &ms
	}
	return out
}

// engineError maps an engine failure to the error a caller sees.
func engineError(err error) *abi.Error {
	switch {
	case errors.Is(err, engine.ErrFull):
		return abi.NewError(abi.Unavailable, "store is full")
	case errors.Is(err, context.DeadlineExceeded):
		return abi.NewError(abi.Timeout, "store operation timed out")
	case errors.Is(err, context.Canceled):
		return abi.NewError(abi.Canceled, "store operation canceled")
	}
	return abi.NewError(abi.Unavailable, "store unavailable: "+err.Error())
}
