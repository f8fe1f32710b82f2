package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/govalue"
	"github.com/wasmkv/wasmkv/policy"
)

// Store is one configured store: an engine and the limits the host enforces on it.
// Its methods are the Go side of the store, for applications that share data with
// their scripts; values are encoded and decoded by package govalue, and checked by the
// rules scripts' values are.
type Store struct {
	id            string
	engine        engine.Engine
	maxKeyBytes   int
	maxValueBytes int
}

func newStore(id string, sc StoreConfig, clock engine.Clock) (*Store, error) {
	s := &Store{id: id, maxKeyBytes: sc.MaxKeyBytes, maxValueBytes: sc.MaxValueBytes}
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
	// Expiry on Redis is the server's; the host clock only turns remaining ttls into
	// deadlines, so it stays the real one.
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

// Engine returns the engine behind the store.
func (s *Store) Engine() engine.Engine { return s.engine }

// checkKey applies the key rules that every key operation shares.
func (s *Store) checkKey(key string) *abi.Error { return abi.CheckKey(key, s.maxKeyBytes) }

// engineError maps an engine failure to the error a guest sees.
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

// Get decodes the value of key into v. found is false when the key is missing or expired.
func (s *Store) Get(ctx context.Context, key string, v any) (found bool, err error) {
	if e := s.checkKey(key); e != nil {
		return false, e
	}
	ent, ok, err := s.engine.Get(ctx, key)
	if err != nil || !ok {
		return false, err
	}
	if err := govalue.Unmarshal(ent.Value, v); err != nil {
		return true, fmt.Errorf("host: decoding %q: %w", key, err)
	}
	return true, nil
}

// Set stores v under key with a ttl (0: no expiry), by the rules a script's set follows.
func (s *Store) Set(ctx context.Context, key string, v any, ttl time.Duration) error {
	if e := s.checkKey(key); e != nil {
		return e
	}
	// Rounded away from zero, so that a ttl a nanosecond outside the bounds is refused.
	ms := ttl.Milliseconds()
	if ttl%time.Millisecond > 0 {
		ms++
	} else if ttl%time.Millisecond < 0 {
		ms--
	}
	if e := abi.CheckTTL(ms); e != nil {
		return e
	}
	val, err := govalue.Marshal(v)
	if err != nil {
		return abi.NewError(abi.Invalid, "value: "+err.Error())
	}
	if e := abi.CheckValue(val, s.maxValueBytes); e != nil {
		return e
	}
	if err := s.engine.Set(ctx, key, val, ttl); err != nil {
		return engineError(err)
	}
	return nil
}

// Has reports whether key holds a live value.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	if e := s.checkKey(key); e != nil {
		return false, e
	}
	return s.engine.Has(ctx, key)
}

// Delete removes key and reports whether a live value was removed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	if e := s.checkKey(key); e != nil {
		return false, e
	}
	return s.engine.Delete(ctx, key)
}
