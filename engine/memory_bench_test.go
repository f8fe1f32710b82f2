package engine

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"
)

// These benchmarks back the decision between this hand-made engine and
// github.com/maypok86/otter/v2 (see docs/decisions.md). Every contender does
// the work the Engine contract requires of a point operation: copy the value
// in and out, hand out a version from one engine-wide counter, and honour a
// per-entry ttl exactly. What otter cannot express at all (ErrFull, exact LRU,
// ordered listing) is emulated only for List, to show what it would cost.
//
//	go test -run '^$' -bench . -benchmem ./engine/

// benchKeys is close to the default MaxSize (10000), the common store size.
// On a VM a much larger key set mostly measures cache and TLB misses, which
// every contender pays alike.
const benchKeys = 1 << 13

var (
	benchValue  = bytes.Repeat([]byte("v"), 64)
	benchKeySet = func() []string {
		ks := make([]string, benchKeys)
		for i := range ks {
			ks[i] = fmt.Sprintf("user:%08d", i)
		}
		return ks
	}()
)

// kv is the slice of the Engine contract that the point benchmarks use.
type kv interface {
	set(key string, value []byte, ttl time.Duration)
	get(key string) ([]byte, bool)
	del(key string) bool
}

type memoryKV struct{ m *Memory }

func (e memoryKV) set(key string, value []byte, ttl time.Duration) {
	if err := e.m.Set(context.Background(), key, value, ttl); err != nil {
		panic(err)
	}
}

func (e memoryKV) get(key string) ([]byte, bool) {
	en, ok, _ := e.m.Get(context.Background(), key)
	return en.Value, ok
}

// otterKV is otter configured as close to the contract as it goes: the ttl
// rides in the value and ExpiryWritingFunc makes it per entry, a write resets
// it, and "no expiry" is a very long duration.
func (e memoryKV) del(key string) bool {
	ok, _ := e.m.Delete(context.Background(), key)
	return ok
}

type otterKV struct {
	c       *otter.Cache[string, otterValue]
	version *atomic.Uint64
}

type otterValue struct {
	value   []byte
	version uint64
	ttl     time.Duration
}

const otterForever = 100 * 365 * 24 * time.Hour

func newOtterKV(maxSize int) otterKV {
	return otterKV{
		c: otter.Must(&otter.Options[string, otterValue]{
			MaximumSize: maxSize,
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, otterValue]) time.Duration {
				if e.Value.ttl <= 0 {
					return otterForever
				}
				return e.Value.ttl
			}),
		}),
		version: new(atomic.Uint64),
	}
}

func (o otterKV) set(key string, value []byte, ttl time.Duration) {
	o.c.Set(key, otterValue{value: bytes.Clone(value), version: o.version.Add(1), ttl: ttl})
}

func (o otterKV) get(key string) ([]byte, bool) {
	v, ok := o.c.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	return bytes.Clone(v.value), true
}

func (o otterKV) del(key string) bool {
	_, ok := o.c.Invalidate(key)
	return ok
}

// mapKV is the floor: a Go map behind one RWMutex with lazy exact expiry,
// and nothing else (no ordered index, no eviction, no expiry heap).
type mapKV struct {
	mu      *sync.RWMutex
	m       map[string]mapValue
	version *uint64
}

type mapValue struct {
	value     []byte
	version   uint64
	expiresAt time.Time
}

func newMapKV() mapKV {
	return mapKV{mu: new(sync.RWMutex), m: make(map[string]mapValue), version: new(uint64)}
}

func (s mapKV) set(key string, value []byte, ttl time.Duration) {
	now := time.Now()
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
	}
	v := bytes.Clone(value)
	s.mu.Lock()
	*s.version++
	s.m[key] = mapValue{value: v, version: *s.version, expiresAt: exp}
	s.mu.Unlock()
}

func (s mapKV) get(key string) ([]byte, bool) {
	s.mu.RLock()
	v, ok := s.m[key]
	s.mu.RUnlock()
	if !ok || (!v.expiresAt.IsZero() && !time.Now().Before(v.expiresAt)) {
		return nil, false
	}
	return bytes.Clone(v.value), true
}

func (s mapKV) del(key string) bool {
	s.mu.Lock()
	v, ok := s.m[key]
	delete(s.m, key)
	s.mu.Unlock()
	return ok && (v.expiresAt.IsZero() || time.Now().Before(v.expiresAt))
}

func newMemoryKV(b *testing.B, eviction string) memoryKV {
	m, err := NewMemory(MemoryOptions{MaxSize: 2 * benchKeys, Eviction: eviction})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return memoryKV{m}
}

// contenders builds a fresh store of each kind for one benchmark.
func contenders(b *testing.B) []struct {
	name string
	kv   kv
} {
	return []struct {
		name string
		kv   kv
	}{
		{"memory", newMemoryKV(b, "none")},
		{"memory-lru", newMemoryKV(b, "lru")},
		{"otter", newOtterKV(2 * benchKeys)},
		{"map-rwmutex", newMapKV()},
	}
}

// cpuPerOp starts counting process CPU time; the returned func reports it
// per op as cpu-ns/op. It includes GC and background goroutines, which are
// part of what an operation costs.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

func fill(s kv, ttl time.Duration) {
	for _, k := range benchKeySet {
		s.set(k, benchValue, ttl)
	}
}

var ttls = []struct {
	name string
	ttl  time.Duration
}{{"ttl=none", 0}, {"ttl=1h", time.Hour}}

// BenchmarkSet overwrites existing keys, the steady state of a cache.
func BenchmarkSet(b *testing.B) {
	for _, tt := range ttls {
		for _, c := range contenders(b) {
			b.Run(tt.name+"/"+c.name, func(b *testing.B) {
				fill(c.kv, tt.ttl)
				b.ReportAllocs()
				defer cpuPerOp(b)()
				i := 0
				for b.Loop() {
					c.kv.set(benchKeySet[i&(benchKeys-1)], benchValue, tt.ttl)
					i += 7919 // a prime stride: no cache-friendly sequential walk
				}
			})
		}
	}
}

func BenchmarkGet(b *testing.B) {
	for _, c := range contenders(b) {
		b.Run(c.name, func(b *testing.B) {
			fill(c.kv, time.Hour)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			i := 0
			for b.Loop() {
				if _, ok := c.kv.get(benchKeySet[i&(benchKeys-1)]); !ok {
					b.Fatal("miss")
				}
				i += 7919
			}
		})
	}
}

func BenchmarkSetParallel(b *testing.B) {
	for _, c := range contenders(b) {
		b.Run(c.name, func(b *testing.B) {
			fill(c.kv, time.Hour)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			b.ResetTimer() // RunParallel does not reset the timer as b.Loop does: keep the fill out
			var seed atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				i := int(seed.Add(1) * 104729)
				for pb.Next() {
					c.kv.set(benchKeySet[i&(benchKeys-1)], benchValue, time.Hour)
					i += 7919
				}
			})
		})
	}
}

func BenchmarkGetParallel(b *testing.B) {
	for _, c := range contenders(b) {
		b.Run(c.name, func(b *testing.B) {
			fill(c.kv, time.Hour)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			b.ResetTimer() // RunParallel does not reset the timer as b.Loop does: keep the fill out
			var seed atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				i := int(seed.Add(1) * 104729)
				for pb.Next() {
					c.kv.get(benchKeySet[i&(benchKeys-1)])
					i += 7919
				}
			})
		})
	}
}

// BenchmarkChurn creates one key and deletes another per op, at a steady
// size of benchKeys: the path where the ordered index and the expiry heap
// cost something, since an overwrite touches neither.
func BenchmarkChurn(b *testing.B) {
	churnKeys := make([]string, 2*benchKeys)
	for i := range churnKeys {
		churnKeys[i] = fmt.Sprintf("churn:%08d", (i*7919)%len(churnKeys))
	}
	for _, c := range contenders(b) {
		b.Run(c.name, func(b *testing.B) {
			for _, k := range churnKeys[:benchKeys] {
				c.kv.set(k, benchValue, time.Hour)
			}
			b.ReportAllocs()
			defer cpuPerOp(b)()
			i := 0
			for b.Loop() {
				c.kv.set(churnKeys[(i+benchKeys)%len(churnKeys)], benchValue, time.Hour)
				c.kv.del(churnKeys[i%len(churnKeys)])
				i++
			}
		})
	}
}

// BenchmarkMixedParallel is 90% reads, 10% writes.
func BenchmarkMixedParallel(b *testing.B) {
	for _, c := range contenders(b) {
		b.Run(c.name, func(b *testing.B) {
			fill(c.kv, time.Hour)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			b.ResetTimer() // RunParallel does not reset the timer as b.Loop does: keep the fill out
			var seed atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				i := int(seed.Add(1) * 104729)
				for pb.Next() {
					k := benchKeySet[i&(benchKeys-1)]
					if i%10 == 0 {
						c.kv.set(k, benchValue, time.Hour)
					} else {
						c.kv.get(k)
					}
					i += 7919
				}
			})
		})
	}
}

// listKeys is the store size for BenchmarkListPage. Each contender builds
// its own store inside its sub-benchmark (b.Loop runs the body once, so the
// build is not timed), and only one 1M-key store is alive at a time: the
// others would otherwise inflate every contender's GC cost.
const listKeys = 1_000_000

// listLoad returns the keys in a random insertion order, as real traffic
// would give them (a sorted load would flatter the B-tree), and random
// cursors that leave at least a page after them.
func listLoad() (keys, cursors []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys = make([]string, listKeys)
	for i, j := range rng.Perm(listKeys) {
		keys[i] = fmt.Sprintf("item:%08d", j)
	}
	cursors = make([]string, 1024)
	for i := range cursors {
		cursors[i] = fmt.Sprintf("item:%08d", rng.IntN(listKeys-200))
	}
	return keys, cursors
}

// firstAfter is what a store without an ordered index must do for one page:
// look at every key, keeping the limit+1 smallest greater than after (the
// extra one decides HasMore). It beats copying and sorting the whole store,
// and is still O(n) per page.
func firstAfter(keys iter.Seq[string], after string, limit int) []string {
	best := make([]string, 0, limit+2)
	for k := range keys {
		if k <= after || (len(best) == limit+1 && k >= best[limit]) {
			continue
		}
		i, _ := slices.BinarySearch(best, k)
		best = slices.Insert(best, i, k)
		if len(best) > limit+1 {
			best = best[:limit+1]
		}
	}
	return best
}

// BenchmarkListPage reads one page of 100 after a random cursor from a
// store of 1M keys.
func BenchmarkListPage(b *testing.B) {
	const limit = 100
	b.Run("memory", func(b *testing.B) {
		keys, cursors := listLoad()
		m, err := NewMemory(MemoryOptions{MaxSize: listKeys})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		for _, k := range keys {
			_ = m.Set(context.Background(), k, benchValue, time.Hour)
		}
		runtime.GC() // settle the build's garbage so it is not billed to the pages
		b.ReportAllocs()
		defer cpuPerOp(b)()
		i := 0
		for b.Loop() {
			p, err := m.List(context.Background(), ListOptions{Prefix: "item:", After: cursors[i%len(cursors)], Limit: limit})
			if err != nil || len(p.Items) != limit || !p.HasMore {
				b.Fatalf("bad page: %d items, err %v", len(p.Items), err)
			}
			i++
		}
	})
	b.Run("otter-scan", func(b *testing.B) {
		keys, cursors := listLoad()
		o := newOtterKV(2 * listKeys)
		defer o.c.StopAllGoroutines()
		for _, k := range keys {
			o.set(k, benchValue, time.Hour)
		}
		runtime.GC() // settle the build's garbage so it is not billed to the pages
		b.ReportAllocs()
		defer cpuPerOp(b)()
		i := 0
		for b.Loop() {
			page := firstAfter(o.c.Keys(), cursors[i%len(cursors)], limit)
			items := make([]Entry, 0, limit)
			for _, k := range page[:limit] {
				v, _ := o.get(k)
				items = append(items, Entry{Key: k, Value: v})
			}
			if len(items) != limit {
				b.Fatal("bad page")
			}
			i++
		}
	})
	b.Run("map-scan", func(b *testing.B) {
		keys, cursors := listLoad()
		s := newMapKV()
		for _, k := range keys {
			s.set(k, benchValue, time.Hour)
		}
		runtime.GC() // settle the build's garbage so it is not billed to the pages
		b.ReportAllocs()
		defer cpuPerOp(b)()
		i := 0
		for b.Loop() {
			s.mu.RLock()
			page := firstAfter(func(yield func(string) bool) {
				for k := range s.m {
					if !yield(k) {
						return
					}
				}
			}, cursors[i%len(cursors)], limit)
			items := make([]Entry, 0, limit)
			for _, k := range page[:limit] {
				v := s.m[k]
				items = append(items, Entry{Key: k, Value: bytes.Clone(v.value), Version: v.version})
			}
			s.mu.RUnlock()
			if len(items) != limit {
				b.Fatal("bad page")
			}
			i++
		}
	})
}
