package engine

// btree is the ordered index behind List: a B-tree of *item ordered by key.
//
// List must page through a million keys without copying or sorting the
// store, and a sorted slice would make every new key an O(n) shift. The tree
// changes only when a key is created or removed; overwrites mutate the
// *item in place. It is not safe for concurrent use: Memory's lock guards it.
//
// The algorithm is the classic one (as in github.com/google/btree, whose
// removal strategy this follows): nodes are split on the way down when
// inserting, and grown on the way down when removing, so neither ever has to
// walk back up.
type btree struct {
	root   *bnode
	length int
}

// btreeDegree sets node sizes: at most 2*degree-1 items, at least degree-1
// outside the root. 32 keeps a node's item slice within a few cache lines of
// pointers while keeping the tree shallow (4 levels hold ~16M keys).
const (
	btreeDegree   = 32
	btreeMaxItems = 2*btreeDegree - 1
	btreeMinItems = btreeDegree - 1
)

// slot holds a key next to its item: find compares keys without chasing
// the item pointer, which halves the cache misses per comparison.
type slot struct {
	key string
	it  *item
}

type bnode struct {
	items    []slot
	children []*bnode // empty for a leaf, else len(items)+1
}

// find returns the index of the first item whose key is >= key, and whether
// that item's key is key.
func (n *bnode) find(key string) (int, bool) {
	lo, hi := 0, len(n.items)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if n.items[mid].key < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(n.items) && n.items[lo].key == key
}

// split moves everything after items[i] into a new right sibling and returns
// items[i], which the caller lifts into the parent.
func (n *bnode) split(i int) (slot, *bnode) {
	mid := n.items[i]
	next := &bnode{items: make([]slot, len(n.items)-i-1, btreeMaxItems)}
	copy(next.items, n.items[i+1:])
	clear(n.items[i:]) // drop the moved pointers so the GC can free removed items
	n.items = n.items[:i]
	if len(n.children) > 0 {
		next.children = make([]*bnode, len(n.children)-i-1, btreeMaxItems+1)
		copy(next.children, n.children[i+1:])
		clear(n.children[i+1:])
		n.children = n.children[:i+1]
	}
	return mid, next
}

// insert adds it to the tree, or replaces the item with the same key.
// It reports whether the key is new.
func (t *btree) insert(it *item) bool {
	s := slot{key: it.key, it: it}
	if t.root == nil {
		t.root = &bnode{items: make([]slot, 0, btreeMaxItems)}
	}
	if len(t.root.items) >= btreeMaxItems {
		mid, second := t.root.split(btreeMaxItems / 2)
		old := t.root
		t.root = &bnode{
			items:    append(make([]slot, 0, btreeMaxItems), mid),
			children: append(make([]*bnode, 0, btreeMaxItems+1), old, second),
		}
	}
	added := t.root.insert(s)
	if added {
		t.length++
	}
	return added
}

func (n *bnode) insert(it slot) bool {
	for {
		i, found := n.find(it.key)
		if found {
			n.items[i] = it
			return false
		}
		if len(n.children) == 0 {
			n.items = append(n.items, slot{})
			copy(n.items[i+1:], n.items[i:])
			n.items[i] = it
			return true
		}
		if len(n.children[i].items) >= btreeMaxItems {
			mid, second := n.children[i].split(btreeMaxItems / 2)
			n.items = append(n.items, slot{})
			copy(n.items[i+1:], n.items[i:])
			n.items[i] = mid
			n.children = append(n.children, nil)
			copy(n.children[i+2:], n.children[i+1:])
			n.children[i+1] = second
			switch {
			case it.key == mid.key:
				n.items[i] = it
				return false
			case it.key > mid.key:
				i++
			}
		}
		n = n.children[i]
	}
}

// remove deletes the item with key and returns it, or nil if there is none.
func (t *btree) remove(key string) *item {
	if t.root == nil || len(t.root.items) == 0 {
		return nil
	}
	out := t.root.remove(key, false)
	if len(t.root.items) == 0 && len(t.root.children) > 0 {
		t.root = t.root.children[0] // the root was merged away: the tree shrinks
	}
	if out.it != nil {
		t.length--
	}
	return out.it
}

// remove deletes key from the subtree rooted at n (or its largest item when
// max is set). Before descending into a child it makes sure the child has
// more than the minimum, so the removal below can never underflow it.
func (n *bnode) remove(key string, max bool) slot {
	var i int
	var found bool
	if max {
		if len(n.children) == 0 {
			last := n.items[len(n.items)-1]
			n.items[len(n.items)-1] = slot{}
			n.items = n.items[:len(n.items)-1]
			return last
		}
		i = len(n.items)
	} else {
		i, found = n.find(key)
		if len(n.children) == 0 {
			if !found {
				return slot{}
			}
			out := n.items[i]
			copy(n.items[i:], n.items[i+1:])
			n.items[len(n.items)-1] = slot{}
			n.items = n.items[:len(n.items)-1]
			return out
		}
	}
	if len(n.children[i].items) <= btreeMinItems {
		n.growChild(i)
		return n.remove(key, max) // the layout changed: search again
	}
	child := n.children[i]
	if found {
		// Replace the item by its predecessor, the largest item of the left
		// subtree, which is in a leaf and so can be removed directly.
		out := n.items[i]
		n.items[i] = child.remove("", true)
		return out
	}
	return child.remove(key, max)
}

// growChild gives children[i] at least one more item than the minimum, by
// borrowing from a sibling through the parent or by merging with a sibling.
func (n *bnode) growChild(i int) {
	child := n.children[i]
	switch {
	case i > 0 && len(n.children[i-1].items) > btreeMinItems:
		left := n.children[i-1]
		stolen := left.items[len(left.items)-1]
		left.items[len(left.items)-1] = slot{}
		left.items = left.items[:len(left.items)-1]
		child.items = append(child.items, slot{})
		copy(child.items[1:], child.items)
		child.items[0] = n.items[i-1]
		n.items[i-1] = stolen
		if len(left.children) > 0 {
			c := left.children[len(left.children)-1]
			left.children[len(left.children)-1] = nil
			left.children = left.children[:len(left.children)-1]
			child.children = append(child.children, nil)
			copy(child.children[1:], child.children)
			child.children[0] = c
		}
	case i < len(n.items) && len(n.children[i+1].items) > btreeMinItems:
		right := n.children[i+1]
		stolen := right.items[0]
		copy(right.items, right.items[1:])
		right.items[len(right.items)-1] = slot{}
		right.items = right.items[:len(right.items)-1]
		child.items = append(child.items, n.items[i])
		n.items[i] = stolen
		if len(right.children) > 0 {
			c := right.children[0]
			copy(right.children, right.children[1:])
			right.children[len(right.children)-1] = nil
			right.children = right.children[:len(right.children)-1]
			child.children = append(child.children, c)
		}
	default:
		// Neither sibling can lend: merge children[i] with its right
		// sibling (or with its left one if it is the last child), pulling
		// the separating item down from the parent.
		if i >= len(n.items) {
			i--
			child = n.children[i]
		}
		sep := n.items[i]
		right := n.children[i+1]
		copy(n.items[i:], n.items[i+1:])
		n.items[len(n.items)-1] = slot{}
		n.items = n.items[:len(n.items)-1]
		copy(n.children[i+1:], n.children[i+2:])
		n.children[len(n.children)-1] = nil
		n.children = n.children[:len(n.children)-1]
		child.items = append(child.items, sep)
		child.items = append(child.items, right.items...)
		child.children = append(child.children, right.children...)
	}
}

// ascend calls fn for each item with key >= from (key > from when exclusive),
// in key order, until fn returns false.
func (t *btree) ascend(from string, exclusive bool, fn func(*item) bool) {
	if t.root != nil {
		t.root.ascend(from, exclusive, false, fn)
	}
}

// all is set once the walk is past from: every item of the subtree then
// qualifies and the per-node search is skipped.
func (n *bnode) ascend(from string, exclusive, all bool, fn func(*item) bool) bool {
	i := 0
	if !all {
		var found bool
		i, found = n.find(from)
		if found && exclusive {
			// items[i] is from itself; everything in children[i] is smaller.
			i++
			if len(n.children) > 0 && !n.children[i].ascend(from, exclusive, true, fn) {
				return false
			}
			for ; i < len(n.items); i++ {
				if !fn(n.items[i].it) {
					return false
				}
				if len(n.children) > 0 && !n.children[i+1].ascend(from, exclusive, true, fn) {
					return false
				}
			}
			return true
		}
	}
	for ; i < len(n.items); i++ {
		if len(n.children) > 0 && !n.children[i].ascend(from, exclusive, all, fn) {
			return false
		}
		all = true // children[i] held the boundary; the rest are past it
		if !fn(n.items[i].it) {
			return false
		}
	}
	if len(n.children) > 0 {
		return n.children[len(n.items)].ascend(from, exclusive, all, fn)
	}
	return true
}

// len returns the number of items in the tree.
func (t *btree) len() int { return t.length }
