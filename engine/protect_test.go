package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLRUProtect: LRU eviction never removes a protected key, however long unused;
// when only protected keys remain, a new key is ErrFull; a delete or an expiry still
// removes a protected key, and frees its slot.
func TestLRUProtect(t *testing.T) {
	ctx := context.Background()
	m, clk := newMem(t, MemoryOptions{MaxSize: 3, Eviction: EvictionLRU,
		Protect: func(k string) bool { return strings.HasPrefix(k, "admin:") }})
	mustSet(t, m, "admin:config", "c", 0) // the least recently used key from here on
	mustSet(t, m, "a", "1", 0)
	mustSet(t, m, "b", "2", 0)
	for _, k := range []string{"c", "d", "e", "f"} { // each evicts the oldest unprotected key
		mustSet(t, m, k, k, 0)
	}
	v, ok := getValue(t, m, "admin:config")
	assert.True(t, ok)
	assert.Equal(t, "c", v)
	for _, k := range []string{"a", "b", "c", "d"} {
		_, ok := getValue(t, m, k)
		assert.False(t, ok, k)
	}

	// Fill the store with protected keys: no victim is left.
	_, err := m.Delete(ctx, "e")
	require.NoError(t, err)
	_, err = m.Delete(ctx, "f")
	require.NoError(t, err)
	mustSet(t, m, "admin:a", "x", time.Minute)
	mustSet(t, m, "admin:b", "x", 0)
	assert.ErrorIs(t, m.Set(ctx, "web:1", []byte("x"), 0), ErrFull)
	_, err = m.Put(ctx, "admin:c", []byte("x"), PutOptions{})
	assert.ErrorIs(t, err, ErrFull)
	_, err = m.Update(ctx, "n", func(Entry, bool) ([]byte, time.Duration, error) { return []byte("1"), 0, nil })
	assert.ErrorIs(t, err, ErrFull)
	mustSet(t, m, "admin:b", "overwrite", 0) // an existing key is no new key

	// An expiry frees a protected key's slot.
	clk.Advance(time.Minute)
	mustSet(t, m, "web:1", "x", 0)
	// And that unprotected key is the one the next new key evicts.
	mustSet(t, m, "web:2", "x", 0)
	_, ok = getValue(t, m, "web:1")
	assert.False(t, ok)
	for _, k := range []string{"admin:config", "admin:b", "web:2"} {
		_, ok := getValue(t, m, k)
		assert.True(t, ok, k)
	}
}
