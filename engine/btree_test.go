package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// collect returns the keys ascend yields from (from, exclusive), up to max.
func collect(t *btree, from string, exclusive bool, max int) []string {
	var out []string
	t.ascend(from, exclusive, func(it *item) bool {
		if len(out) == max {
			return false
		}
		out = append(out, it.key)
		return true
	})
	return out
}

// reference answers the same question from a sorted slice.
func reference(sorted []string, from string, exclusive bool, max int) []string {
	i, found := slices.BinarySearch(sorted, from)
	if found && exclusive {
		i++
	}
	end := min(len(sorted), i+max)
	if i >= end {
		return nil
	}
	return slices.Clone(sorted[i:end])
}

// checkInvariants verifies node sizes, ordering and uniform leaf depth, which
// a wrong split or merge would break long before ascend shows it.
func checkInvariants(t *testing.T, tr *btree) {
	t.Helper()
	if tr.root == nil {
		return
	}
	leafDepth := -1
	count := 0
	var walk func(n *bnode, depth int, lo, hi *string)
	// Plain checks rather than require: this runs over every item many times.
	walk = func(n *bnode, depth int, lo, hi *string) {
		count += len(n.items)
		if n != tr.root && len(n.items) < btreeMinItems {
			t.Fatalf("underfull node: %d items", len(n.items))
		}
		if len(n.items) > btreeMaxItems {
			t.Fatalf("overfull node: %d items", len(n.items))
		}
		for i, it := range n.items {
			if (i > 0 && n.items[i-1].key >= it.key) || (lo != nil && it.key <= *lo) || (hi != nil && it.key >= *hi) {
				t.Fatalf("key %q out of order", it.key)
			}
		}
		if len(n.children) == 0 {
			if leafDepth < 0 {
				leafDepth = depth
			}
			if depth != leafDepth {
				t.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			return
		}
		if len(n.children) != len(n.items)+1 {
			t.Fatalf("%d children for %d items", len(n.children), len(n.items))
		}
		for i, c := range n.children {
			clo, chi := lo, hi
			if i > 0 {
				clo = &n.items[i-1].key
			}
			if i < len(n.items) {
				chi = &n.items[i].key
			}
			walk(c, depth+1, clo, chi)
		}
	}
	walk(tr.root, 0, nil, nil)
	require.Equal(t, tr.len(), count)
}

func TestBTreeRandomAgainstSortedSlice(t *testing.T) {
	tests := []struct {
		name     string
		keySpace int
		ops      int
	}{
		{"small dense", 50, 2000},
		{"several levels", 20000, 60000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.keySpace)))
			var tr btree
			present := map[string]bool{}
			for op := range tc.ops {
				k := fmt.Sprintf("k%06d", rng.IntN(tc.keySpace))
				// Bias towards inserts early and removals late so the tree
				// both grows through splits and shrinks through merges.
				if rng.IntN(tc.ops) > op {
					if added := tr.insert(&item{key: k}); added == present[k] {
						t.Fatalf("insert %q: added=%v, present before=%v", k, added, present[k])
					}
					present[k] = true
				} else {
					got := tr.remove(k)
					if present[k] != (got != nil) || (got != nil && got.key != k) {
						t.Fatalf("remove %q: got %v, present before=%v", k, got, present[k])
					}
					delete(present, k)
				}
				if op%4999 == 0 {
					checkInvariants(t, &tr)
				}
			}
			checkInvariants(t, &tr)
			sorted := make([]string, 0, len(present))
			for k := range present {
				sorted = append(sorted, k)
			}
			slices.Sort(sorted)
			require.Equal(t, len(sorted), tr.len())
			require.Equal(t, sorted, append([]string{}, collect(&tr, "", false, len(sorted)+1)...))
			for range 300 {
				from := fmt.Sprintf("k%06d", rng.IntN(tc.keySpace+2))
				if rng.IntN(3) == 0 {
					from += "x" // a pivot that is never a key
				}
				excl := rng.IntN(2) == 0
				max := 1 + rng.IntN(40)
				require.Equal(t, reference(sorted, from, excl, max), collect(&tr, from, excl, max), "from %q exclusive %v", from, excl)
			}
			// Drain completely: the root must collapse back to an empty tree.
			for _, k := range sorted {
				require.NotNil(t, tr.remove(k))
			}
			require.Equal(t, 0, tr.len())
			require.Empty(t, collect(&tr, "", false, 10))
			checkInvariants(t, &tr)
		})
	}
}

func TestBTreeInsertReplacesSameKey(t *testing.T) {
	var tr btree
	for i := range 500 {
		tr.insert(&item{key: fmt.Sprintf("%04d", i)})
	}
	repl := &item{key: "0250", version: 7}
	require.False(t, tr.insert(repl))
	require.Equal(t, 500, tr.len())
	var got *item
	tr.ascend("0250", false, func(it *item) bool { got = it; return false })
	require.Same(t, repl, got)
}
