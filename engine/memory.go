package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults for a MemoryOptions field left at its zero value (the spec's
// "Configuration defaults").
const (
	DefaultMaxSize         = 10000
	DefaultCleanupInterval = 5 * time.Minute
)

// Eviction policies accepted by MemoryOptions.Eviction.
const (
	EvictionNone = "none"
	EvictionLRU  = "lru"
)

// sweepBatch bounds how many expired keys one sweep frees per lock hold, so
// that a mass expiry never stalls readers for the whole purge.
const sweepBatch = 1024

var errPutBothConditions = errors.New("engine: put: OnlyIfAbsent and IfVersion are mutually exclusive")

// MemoryOptions configure NewMemory.
type MemoryOptions struct {
	MaxSize         int           // default 10000 when 0
	CleanupInterval time.Duration // default 5m when 0
	Eviction        string        // "none" (default, "" too) or "lru"; anything else is an error from NewMemory
	Clock           Clock         // default SystemClock()
	// Protect reports the keys that LRU eviction never removes (nil: none). A new key
	// that finds the store full of protected keys (and no expired ones) gets ErrFull,
	// as without eviction. Only a delete or an expiry removes a protected key.
	Protect func(key string) bool
}

// item is one stored key. Memory's lock guards every field; the same *item
// is shared by the map, the ordered index, the LRU list and the expiry heap,
// so an overwrite updates it in place and touches none of those structures
// except where the ttl or recency changed.
type item struct {
	key       string
	value     []byte
	version   uint64
	expiresAt time.Time // zero: no expiry
	prev      *item     // LRU neighbours, only maintained with eviction "lru"
	next      *item
	protected bool // never evicted, so never on the LRU list
}

func (it *item) expired(now time.Time) bool {
	return !it.expiresAt.IsZero() && !now.Before(it.expiresAt)
}

// entry copies it out: the caller may keep or scribble on the value. A
// stored value is never nil, and bytes.Clone keeps an empty one non-nil.
func (it *item) entry() Entry {
	return Entry{Key: it.key, Value: bytes.Clone(it.value), Version: it.version, ExpiresAt: it.expiresAt}
}

// Memory is the in-process engine. One RWMutex guards a hash map for point
// lookups, a B-tree for ordered listing, a min-heap of deadlines that makes
// purging expired keys cost O(expired · log n) instead of a scan, and, with
// eviction "lru", an intrusive recency list.
//
// A single lock keeps every operation linearizable, makes Put's check-and-set
// and Update trivially atomic, and lets List read a consistent page; see
// memory_bench_test.go for what it costs against a sharded cache.
type Memory struct {
	mu       sync.RWMutex
	items    map[string]*item
	index    btree
	expiries []deadline // min-heap of deadlines, some stale (see expiry_heap.go)
	timed    int        // stored items that have a deadline
	base     time.Time  // the clock's reading at creation; heap deadlines count from it
	lruHead  item       // sentinel: lruHead.next is the most recently used item
	version  uint64     // last version handed out

	maxSize  int
	lru      bool
	protect  func(key string) bool
	clock    Clock
	interval time.Duration

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ Engine = (*Memory)(nil)

// NewMemory returns an empty in-memory engine and starts its sweeper, which
// runs every CleanupInterval until Close. The sweeper's goroutine keeps the
// engine reachable, so an engine that is never closed is never collected.
func NewMemory(opts MemoryOptions) (*Memory, error) {
	if opts.MaxSize < 0 {
		return nil, fmt.Errorf("engine: memory: max size %d is negative", opts.MaxSize)
	}
	if opts.CleanupInterval < 0 {
		return nil, fmt.Errorf("engine: memory: cleanup interval %s is negative", opts.CleanupInterval)
	}
	m := &Memory{
		items:    make(map[string]*item),
		maxSize:  opts.MaxSize,
		clock:    opts.Clock,
		interval: opts.CleanupInterval,
		protect:  opts.Protect,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	switch opts.Eviction {
	case "", EvictionNone:
	case EvictionLRU:
		m.lru = true
	default:
		return nil, fmt.Errorf("engine: memory: unknown eviction %q (want %q or %q)", opts.Eviction, EvictionNone, EvictionLRU)
	}
	if m.maxSize == 0 {
		m.maxSize = DefaultMaxSize
	}
	if m.interval == 0 {
		m.interval = DefaultCleanupInterval
	}
	if m.clock == nil {
		m.clock = SystemClock()
	}
	m.base = m.clock.Now()
	m.lruHead.next, m.lruHead.prev = &m.lruHead, &m.lruHead
	go m.sweepLoop()
	return m, nil
}

// sweepLoop frees expired keys on a real ticker; whether a key is expired is
// still decided by the injected clock.
func (m *Memory) sweepLoop() {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.sweep()
		case <-m.stop:
			return
		}
	}
}

// sweep frees every key expired at the clock's now and returns how many it
// freed. It takes the lock in batches so readers are not starved.
func (m *Memory) sweep() int {
	freed := 0
	for {
		m.mu.Lock()
		n, popped := m.purgeExpiredLocked(m.clock.Now(), sweepBatch)
		m.mu.Unlock()
		freed += n
		if popped < sweepBatch {
			return freed
		}
	}
}

// Close stops the sweeper and waits for it to exit. It is idempotent. The
// engine's data stays readable and writable; the layer above decides whether
// a released store may still be used.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() { close(m.stop) })
	<-m.done
	return nil
}

// Info describes the memory engine.
func (m *Memory) Info() Info {
	return Info{
		Backend:        "MEMORY",
		Consistency:    "LINEARIZABLE",
		Durable:        false,
		List:           true,
		Versioned:      true,
		ConditionalPut: true,
		TTL:            true,
	}
}

// Len counts live and not-yet-swept entries.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.items)
}

// Get returns a copy of the live entry for key. With eviction "lru" it also
// marks the key as recently used, which needs the write lock.
func (m *Memory) Get(ctx context.Context, key string) (Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, false, err
	}
	if m.lru {
		m.mu.Lock()
		defer m.mu.Unlock()
	} else {
		m.mu.RLock()
		defer m.mu.RUnlock()
	}
	it, ok := m.items[key]
	if !ok || it.expired(m.clock.Now()) {
		// An expired item is left for the sweeper or the next write: a
		// reader under RLock may not unlink it.
		return Entry{}, false, nil
	}
	m.touchLocked(it)
	return it.entry(), true, nil
}

// Has reports whether key is live. It does not count as a use for LRU.
func (m *Memory) Has(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	it, ok := m.items[key]
	return ok && !it.expired(m.clock.Now()), nil
}

// Set stores a copy of value under key with the given ttl (<= 0: none),
// replacing any earlier value and expiry.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	it, err := m.slotLocked(key, now)
	if err != nil {
		return err
	}
	m.writeLocked(it, value, ttl, now)
	return nil
}

// Delete removes key; it reports true only if the key was live. An expired
// key is freed too, but reported as absent, as a read would have seen it.
func (m *Memory) Delete(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok {
		return false, nil
	}
	live := !it.expired(m.clock.Now())
	m.removeLocked(it)
	return live, nil
}

// Put is a conditional Set: OnlyIfAbsent fails with ErrExists on a live key,
// IfVersion fails with ErrConflict unless the live key has that version.
// The two conditions are mutually exclusive.
func (m *Memory) Put(ctx context.Context, key string, value []byte, opts PutOptions) (Entry, error) {
	if opts.OnlyIfAbsent && opts.HasIfVersion {
		return Entry{}, errPutBothConditions
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	cur, ok := m.items[key]
	live := ok && !cur.expired(now)
	switch {
	case opts.OnlyIfAbsent && live:
		return Entry{}, ErrExists
	case opts.HasIfVersion && (!live || cur.version != opts.IfVersion):
		return Entry{}, ErrConflict
	}
	it, err := m.slotLocked(key, now)
	if err != nil {
		return Entry{}, err
	}
	m.writeLocked(it, value, opts.TTL, now)
	return it.entry(), nil
}

// Update runs fn on the live entry for key (exists=false when missing or
// expired) and stores what it returns, all under the engine's lock. An error
// from fn is returned unchanged and nothing is written. fn must not call m.
func (m *Memory) Update(ctx context.Context, key string, fn Mutate) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock() // deferred so a panicking fn cannot leave the store locked
	now := m.clock.Now()
	var cur Entry
	it, ok := m.items[key]
	live := ok && !it.expired(now)
	if live {
		cur = it.entry()
	} else {
		cur = Entry{Key: key}
	}
	value, ttl, err := fn(cur, live)
	if err != nil {
		return Entry{}, err
	}
	it, err = m.slotLocked(key, now)
	if err != nil {
		return Entry{}, err
	}
	m.writeLocked(it, value, ttl, now)
	return it.entry(), nil
}

// List returns up to opts.Limit live entries whose keys have opts.Prefix and
// are greater than opts.After, in byte order. It walks the ordered index from
// the cursor, so a page costs O(log n + page + expired keys skipped), and
// pages read under one lock each, so a key present and unchanged across a
// whole paging is listed exactly once.
func (m *Memory) List(ctx context.Context, opts ListOptions) (Page, error) {
	if opts.Limit <= 0 {
		return Page{}, fmt.Errorf("engine: list: limit %d must be positive", opts.Limit)
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	now := m.clock.Now()
	from, exclusive := opts.Prefix, false
	if opts.After != "" && opts.After >= opts.Prefix {
		from, exclusive = opts.After, true
	}
	page := Page{Items: make([]Entry, 0, min(opts.Limit, 128))}
	m.index.ascend(from, exclusive, func(it *item) bool {
		if len(it.key) < len(opts.Prefix) || it.key[:len(opts.Prefix)] != opts.Prefix {
			return false // keys are ordered: past the prefix's range, nothing more matches
		}
		if it.expired(now) {
			return true
		}
		if len(page.Items) == opts.Limit {
			page.HasMore = true
			return false
		}
		page.Items = append(page.Items, it.entry())
		return true
	})
	return page, nil
}

// slotLocked returns the item to write key into: the existing one (live or
// expired: reusing it never grows the store) or a new one linked into every
// structure. A new key in a full store first purges expired keys, then evicts
// the least recently used key with "lru" or fails with ErrFull. Protected
// keys are not on the LRU list: when only they remain, the store is full.
func (m *Memory) slotLocked(key string, now time.Time) (*item, error) {
	if it, ok := m.items[key]; ok {
		return it, nil
	}
	if len(m.items) >= m.maxSize {
		m.purgeExpiredLocked(now, -1)
	}
	if len(m.items) >= m.maxSize {
		victim := m.lruHead.prev
		if !m.lru || victim == &m.lruHead {
			return nil, ErrFull
		}
		m.removeLocked(victim)
	}
	it := &item{key: key, protected: m.lru && m.protect != nil && m.protect(key)}
	m.items[key] = it
	m.index.insert(it)
	// A new item joins the LRU list when writeLocked touches it.
	return it, nil
}

// writeLocked stores a copy of value and a fresh version and deadline in it.
func (m *Memory) writeLocked(it *item, value []byte, ttl time.Duration, now time.Time) {
	m.version++
	it.version = m.version // also makes any earlier heap entry of it stale
	if value == nil {
		value = []byte{} // a write always stores a value; nil would read back as "no value"
	}
	it.value = bytes.Clone(value)
	if !it.expiresAt.IsZero() {
		m.timed--
	}
	it.expiresAt = time.Time{}
	if ttl > 0 {
		it.expiresAt = now.Add(ttl)
		m.timed++
		m.pushDeadlineLocked(it)
	}
	m.touchLocked(it)
}

// removeLocked unlinks it from every structure. Its heap entry, if any,
// goes stale with the version and is dropped later.
func (m *Memory) removeLocked(it *item) {
	delete(m.items, it.key)
	m.index.remove(it.key)
	if !it.expiresAt.IsZero() {
		m.timed--
	}
	it.version = 0
	if m.lru {
		m.unlinkLRU(it)
	}
}

// touchLocked marks it as the most recently used key (a no-op without LRU).
func (m *Memory) touchLocked(it *item) {
	if !m.lru || it.protected || m.lruHead.next == it {
		return
	}
	m.unlinkLRU(it)
	it.prev, it.next = &m.lruHead, m.lruHead.next
	m.lruHead.next.prev = it
	m.lruHead.next = it
}

func (m *Memory) unlinkLRU(it *item) {
	if it.prev != nil {
		it.prev.next = it.next
		it.next.prev = it.prev
	}
	it.prev, it.next = nil, nil
}
