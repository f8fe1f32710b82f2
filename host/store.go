package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/policy"
)

// Store is one configured store: an engine and the limits the host enforces on it.
// Its methods are the Go side of the store, for applications that share data with
// their scripts; values are encoded with abi.EncMode and decoded with abi.ValueDecMode,
// exactly as scripts' values are.
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
func (s *Store) checkKey(key []byte) *abi.Error {
	switch {
	case len(key) == 0:
		return abi.NewError(abi.Invalid, "key is empty")
	case len(key) > s.maxKeyBytes:
		return abi.NewError(abi.Invalid, fmt.Sprintf("key is %d bytes, longer than max_key_bytes %d", len(key), s.maxKeyBytes))
	}
	return nil
}

// checkValue applies the value rules: present, within max_value_bytes, and one
// well-formed CBOR item within the value limits.
func (s *Store) checkValue(val []byte) *abi.Error {
	switch {
	case len(val) == 0:
		return abi.NewError(abi.Invalid, "value is required")
	case len(val) > s.maxValueBytes:
		return abi.NewError(abi.Invalid, fmt.Sprintf("value: encoded value is %d bytes, larger than max_value_bytes %d", len(val), s.maxValueBytes))
	}
	if err := abi.CheckValue(val); err != nil {
		return abi.NewError(abi.Invalid, "value: "+err.Error())
	}
	return nil
}

// maxTTL is 100 years, the longest ttl a store accepts.
const maxTTL = 3_153_600_000 * time.Second

func checkTTL(ttl time.Duration) *abi.Error {
	if ttl < 0 || ttl > maxTTL {
		return abi.NewError(abi.Invalid, fmt.Sprintf("ttl %v is out of range (0 to 100 years)", ttl))
	}
	return nil
}

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
	if e := s.checkKey([]byte(key)); e != nil {
		return false, e
	}
	ent, ok, err := s.engine.Get(ctx, key)
	if err != nil || !ok {
		return false, err
	}
	if err := abi.ValueDecMode.Unmarshal(ent.Value, v); err != nil {
		return true, fmt.Errorf("host: decoding %q: %w", key, err)
	}
	return true, nil
}

// Set stores v under key with a ttl (0: no expiry), by the rules a script's set follows.
func (s *Store) Set(ctx context.Context, key string, v any, ttl time.Duration) error {
	if e := s.checkKey([]byte(key)); e != nil {
		return e
	}
	if e := checkTTL(ttl); e != nil {
		return e
	}
	val, err := abi.EncMode.Marshal(v)
	if err != nil {
		return abi.NewError(abi.Invalid, "value: "+err.Error())
	}
	if e := s.checkValue(val); e != nil {
		return e
	}
	if err := s.engine.Set(ctx, key, val, ttl); err != nil {
		return engineError(err)
	}
	return nil
}

// Has reports whether key holds a live value.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	if e := s.checkKey([]byte(key)); e != nil {
		return false, e
	}
	return s.engine.Has(ctx, key)
}

// Delete removes key and reports whether a live value was removed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	if e := s.checkKey([]byte(key)); e != nil {
		return false, e
	}
	return s.engine.Delete(ctx, key)
}
