// Package engine holds the storage engines that sit behind a store id.
//
// An engine stores opaque byte values under string keys, with an optional
// per-key time to live. It knows nothing of wasm, CBOR or policies: the
// layers above validate keys, values and ttls, check permissions and encode
// values before an engine ever sees them.
package engine

import (
	"context"
	"errors"
	"time"
)

// Entry is one live key.
type Entry struct {
	Key string
	// Value is owned by the caller: engines copy it on the way in and out,
	// so callers may reuse their buffers.
	Value []byte
	// Version changes on every write of the key and is unique per key even
	// across delete and re-create, because it comes from one engine-wide
	// counter. It is what Put's IfVersion compares against.
	Version uint64
	// ExpiresAt is the instant from which the key is invisible, on the
	// engine's Clock; the zero time means no expiry.
	ExpiresAt time.Time
}

var (
	// ErrFull is returned by a write that would add a NEW key to a store
	// that is full and whose eviction is "none". Overwrites never see it.
	ErrFull = errors.New("engine: store is full")
	// ErrExists is returned by Put with OnlyIfAbsent when the key is live.
	ErrExists = errors.New("engine: key already exists")
	// ErrConflict is returned by Put with IfVersion when the key's version
	// differs, or when the key is missing or expired.
	ErrConflict = errors.New("engine: version conflict")
)

// Info describes what an engine offers, for the store's info() call.
type Info struct {
	Backend        string // "MEMORY", "REDIS", ...
	Consistency    string // "LINEARIZABLE", "EVENTUAL", "LOCAL", "UNKNOWN"
	Durable        bool
	List           bool
	Versioned      bool
	ConditionalPut bool
	TTL            bool
}

// PutOptions are the conditions and ttl of a Put.
type PutOptions struct {
	TTL          time.Duration // 0 (or less): no expiry
	OnlyIfAbsent bool          // fail with ErrExists if the key is live
	IfVersion    uint64        // with HasIfVersion: fail with ErrConflict unless the live key has this version
	HasIfVersion bool
}

// ListOptions select one page of keys.
type ListOptions struct {
	Prefix string
	// After is exclusive: only keys strictly greater than After are listed.
	// The cursor for the next page is the last key of the previous one, so
	// paging never depends on server-side state.
	After string
	Limit int // > 0
}

// Page is one page of a List, in byte order of the keys.
type Page struct {
	Items []Entry
	// HasMore is true exactly when another LIVE key after the page matches
	// the prefix; expired keys never make it true.
	HasMore bool
}

// Mutate is the function Update calls under the key's lock. cur is the live
// entry (exists=false when missing or expired). It returns the new value and
// ttl to store, or an error that Update returns unchanged without writing.
//
// It must not call the engine it runs in: the engine's lock is held.
type Mutate func(cur Entry, exists bool) (value []byte, ttl time.Duration, err error)

// Engine is a key-value store with per-key TTL. Implementations are safe for
// concurrent use. A ttl <= 0 means no expiry: callers validate ttls first.
type Engine interface {
	// Get returns the live entry for key; ok is false when it is missing or expired.
	Get(ctx context.Context, key string) (Entry, bool, error)
	// Set stores value under key, replacing both the value and the ttl of an
	// earlier write (ttl <= 0 clears an earlier expiry).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Has reports whether key is live.
	Has(ctx context.Context, key string) (bool, error)
	// Delete removes key and reports true only if a LIVE key was removed.
	Delete(ctx context.Context, key string) (bool, error)
	// Put is a conditional Set; the check and the write are one atomic step.
	Put(ctx context.Context, key string, value []byte, opts PutOptions) (Entry, error)
	// Update is an atomic read-modify-write of one key (used for incr).
	Update(ctx context.Context, key string, fn Mutate) (Entry, error)
	// List returns one page of live keys in byte order.
	List(ctx context.Context, opts ListOptions) (Page, error)
	// Len counts live and not-yet-swept entries; for metrics and tests.
	Len() int
	// Info describes the engine.
	Info() Info
	// Close stops background work; it is idempotent.
	Close() error
}
