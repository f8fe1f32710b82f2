package host

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
)

// TestHandleTable: released slots are reused, a released handle never reaches the store
// that reuses its slot, and a run cannot hold more than maxHandles stores open.
func TestHandleTable(t *testing.T) {
	a, b := &Store{id: "a"}, &Store{id: "b"}
	inst := &instance{}
	ha, e := inst.newHandle(a)
	require.Nil(t, e)
	assert.Equal(t, uint32(1), ha)
	inst.release(ha)
	hb, e := inst.newHandle(b)
	require.Nil(t, e)
	assert.Equal(t, uint32(1<<16|1), hb, "the slot is reused with the next generation")

	_, e = inst.store(ha)
	require.NotNil(t, e)
	assert.Equal(t, "store is released", e.Message)
	s, e := inst.store(hb)
	require.Nil(t, e)
	assert.Same(t, b, s)
	inst.release(ha) // a stale release must not free b's slot
	s, e = inst.store(hb)
	require.Nil(t, e)
	assert.Same(t, b, s)

	for _, h := range []uint32{0, 2, 7<<16 | 1, 0xffffffff} {
		_, e = inst.store(h)
		require.NotNil(t, e, "handle %#x", h)
		assert.Contains(t, e.Message, "unknown store handle")
	}

	for i := 0; i < 70000; i++ { // open and release in a loop: one slot, then the next
		h, e := inst.newHandle(a)
		require.Nil(t, e)
		inst.release(h)
	}
	assert.Len(t, inst.handles, 3, "b's slot, a slot used until its generation ran out, and one more")
	_, e = inst.store(2)
	require.NotNil(t, e, "the first handle of the retired slot never matches again")

	for len(inst.handles) < maxHandles {
		_, e := inst.newHandle(a)
		require.Nil(t, e)
	}
	_, e = inst.newHandle(a)
	require.NotNil(t, e)
	assert.Equal(t, abi.Invalid, e.Kind)
	assert.Contains(t, e.Message, "too many open stores")
}
