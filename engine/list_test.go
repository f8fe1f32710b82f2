package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestList(t *testing.T) {
	ctx := context.Background()
	// Keys in byte order: "a" < "a/" < "a/1" < "a/2" < "a0" < "ab" < "b" < "\xff".
	live := []string{"b", "a/2", "ab", "a", "a/1", "a0", "\xff"}
	tests := []struct {
		name        string
		expiring    []string // set with a 1s ttl, then the clock passes it
		opts        ListOptions
		wantKeys    []string
		wantHasMore bool
	}{
		{"all in byte order", nil, ListOptions{Limit: 100}, []string{"a", "a/1", "a/2", "a0", "ab", "b", "\xff"}, false},
		{"limit sets has_more", nil, ListOptions{Limit: 3}, []string{"a", "a/1", "a/2"}, true},
		{"limit equal to the rest", nil, ListOptions{Limit: 7}, []string{"a", "a/1", "a/2", "a0", "ab", "b", "\xff"}, false},
		{"prefix", nil, ListOptions{Prefix: "a/", Limit: 10}, []string{"a/1", "a/2"}, false},
		{"prefix includes the key equal to it", nil, ListOptions{Prefix: "a", Limit: 10}, []string{"a", "a/1", "a/2", "a0", "ab"}, false},
		{"prefix matching nothing", nil, ListOptions{Prefix: "zz", Limit: 10}, nil, false},
		{"after is exclusive", nil, ListOptions{After: "a/1", Limit: 2}, []string{"a/2", "a0"}, true},
		{"after need not be a key", nil, ListOptions{After: "a/15", Limit: 10}, []string{"a/2", "a0", "ab", "b", "\xff"}, false},
		{"after before the prefix", nil, ListOptions{Prefix: "a/", After: "0", Limit: 10}, []string{"a/1", "a/2"}, false},
		{"after inside the prefix", nil, ListOptions{Prefix: "a/", After: "a/1", Limit: 10}, []string{"a/2"}, false},
		{"after the prefix range", nil, ListOptions{Prefix: "a/", After: "a/9", Limit: 10}, nil, false},
		{"after the last key", nil, ListOptions{After: "\xff", Limit: 10}, nil, false},
		{"has_more stops at the prefix", nil, ListOptions{Prefix: "a/", Limit: 2}, []string{"a/1", "a/2"}, false},
		{"expired keys never appear", []string{"a/0", "a/1x"}, ListOptions{Prefix: "a/", Limit: 10}, []string{"a/1", "a/2"}, false},
		{"expired keys never make has_more true", []string{"a/3", "a/4"}, ListOptions{Prefix: "a/", Limit: 2}, []string{"a/1", "a/2"}, false},
		{"a live key behind expired ones makes has_more true", []string{"a/", "a/0"}, ListOptions{Prefix: "a", Limit: 1}, []string{"a"}, true},
		{"expired keys do not count toward the limit", []string{"a/0", "a/00"}, ListOptions{Prefix: "a/", Limit: 1}, []string{"a/1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := newMem(t, MemoryOptions{})
			for _, k := range live {
				mustSet(t, m, k, "v:"+k, 0)
			}
			for _, k := range tc.expiring {
				mustSet(t, m, k, "gone", time.Second)
			}
			clk.Advance(time.Second)
			p, err := m.List(ctx, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.wantKeys, nilIfEmpty(keysOf(p)))
			assert.Equal(t, tc.wantHasMore, p.HasMore)
			for _, e := range p.Items {
				assert.Equal(t, "v:"+e.Key, string(e.Value))
				assert.NotZero(t, e.Version)
			}
		})
	}

	t.Run("limit must be positive", func(t *testing.T) {
		m, _ := newMem(t, MemoryOptions{})
		for _, limit := range []int{0, -1} {
			_, err := m.List(ctx, ListOptions{Limit: limit})
			assert.Error(t, err, "limit %d", limit)
		}
	})

	t.Run("entries carry ttl and version", func(t *testing.T) {
		m, clk := newMem(t, MemoryOptions{})
		mustSet(t, m, "k", "v", time.Minute)
		e, _, err := m.Get(ctx, "k")
		require.NoError(t, err)
		p, err := m.List(ctx, ListOptions{Limit: 1})
		require.NoError(t, err)
		require.Len(t, p.Items, 1)
		assert.Equal(t, e, p.Items[0])
		assert.Equal(t, clk.Now().Add(time.Minute), p.Items[0].ExpiresAt)
	})
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// listAll pages through prefix with the given page size, following the
// cursor as a client would, and returns every key seen in order.
func listAll(t *testing.T, m Engine, prefix string, size int) []string {
	t.Helper()
	return listAllThen(t, m, prefix, size, func() {})
}

// listAllThen is listAll, calling afterFirst once the first page is read.
func listAllThen(t *testing.T, m Engine, prefix string, size int, afterFirst func()) []string {
	t.Helper()
	var all []string
	after := ""
	for {
		p, err := m.List(context.Background(), ListOptions{Prefix: prefix, After: after, Limit: size})
		require.NoError(t, err)
		require.LessOrEqual(t, len(p.Items), size)
		all = append(all, keysOf(p)...)
		if after == "" {
			afterFirst()
		}
		if !p.HasMore {
			return all
		}
		require.NotEmpty(t, p.Items, "has_more on an empty page would loop forever")
		after = p.Items[len(p.Items)-1].Key
	}
}

// TestListPagingUnderConcurrentWrites pages through 10k keys in pages of 7
// while writers reshape the tree around them: every key that exists unchanged
// throughout is listed exactly once, in order, and no key ever repeats.
func TestListPagingUnderConcurrentWrites(t *testing.T) {
	const n, pageSize = 10000, 7
	ctx := context.Background()
	m, clk := newMem(t, MemoryOptions{MaxSize: 100000})
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("list/%05d", i)
		mustSet(t, m, want[i], "v", 0)
	}
	// Keys around the listed range, so splits and merges of the nodes that
	// hold list/ keys happen mid-paging.
	for i := range n {
		mustSet(t, m, fmt.Sprintf("lisa/%05d", i), "v", 0)
		mustSet(t, m, fmt.Sprintf("lisz/%05d", i), "v", 0)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	// The paging waits, after its first page, until each writer has done a round: they
	// write during the paging on any machine, however the goroutines are scheduled.
	wrote, churned := make(chan struct{}), make(chan struct{})
	// Outside the range: inserts and deletes just before and after it.
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for _, p := range []string{"lisa/", "lisz/"} {
				k := fmt.Sprintf("%s%05d", p, i%n)
				if i%2 == 0 {
					_, err := m.Delete(ctx, k)
					assert.NoError(t, err)
				} else {
					assert.NoError(t, m.Set(ctx, k+"x", []byte("v"), 0))
				}
			}
			if i == 0 {
				close(wrote)
			}
		}
	})
	// Inside the range: churn keys that come and go (and expire) between
	// the stable ones. They may or may not be listed, but may never repeat
	// or break the order.
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
				assert.NoError(t, m.Set(ctx, k, []byte("c"), 0))
			case 1:
				assert.NoError(t, m.Set(ctx, k, []byte("c"), time.Millisecond))
			default:
				_, err := m.Delete(ctx, k)
				assert.NoError(t, err)
			}
			if i%100 == 0 {
				clk.Advance(time.Millisecond)
			}
			if i == 0 {
				close(churned)
			}
		}
	})

	got := listAllThen(t, m, "list/", pageSize, func() { <-wrote; <-churned })
	close(stop)
	wg.Wait()

	require.True(t, slices.IsSorted(got), "keys come in strictly increasing order")
	require.Len(t, slices.Compact(slices.Clone(got)), len(got), "no key repeats")
	stable := slices.DeleteFunc(slices.Clone(got), func(k string) bool { return len(k) != len("list/00000") })
	require.Equal(t, want, stable, "every stable key is listed exactly once")
}
