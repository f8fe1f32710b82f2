package host

import (
	"slices"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryAllocator backs each instance's linear memory with a reservation of the
// memory's maximum (its limit), so that growing never copies: wazero's own growth
// appends to a Go slice, and the old buffers left as garbage made the host's peak
// memory about four times a guest's limit. When img is set, the new memory starts as
// that snapshot (see snapshot.go) instead of zeroes.
type memoryAllocator struct {
	img  *image
	mode imageMode
	mem  experimental.LinearMemory // what Allocate made, for the pool to reset
}

// Allocate implements experimental.MemoryAllocator.
func (a *memoryAllocator) Allocate(_, max uint64) experimental.LinearMemory {
	buf, err := reserve(max)
	if err != nil {
		// No address space for a reservation: fall back to wazero's way (grow by copy),
		// which still honours the limit.
		a.mem = &sliceMemory{max: max, img: a.img}
		return a.mem
	}
	m := &reservedMemory{buf: buf}
	if a.img != nil {
		if err := a.img.load(buf, a.mode); err != nil {
			// The image could not be mapped: copy it, which gives the same bytes.
			copy(buf, a.img.mem)
		}
	}
	a.mem = m
	return m
}

// reservedMemory is a linear memory inside one reservation of its maximum size.
type reservedMemory struct {
	buf []byte
}

// Reallocate implements experimental.LinearMemory: the bytes never move.
func (m *reservedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

// Free implements experimental.LinearMemory; wazero calls it when the instance closes.
func (m *reservedMemory) Free() {
	if m.buf != nil {
		release(m.buf)
		m.buf = nil
	}
}

// sliceMemory is the fallback when no reservation can be made: a Go slice grown by
// copying, as wazero does by default.
type sliceMemory struct {
	buf []byte
	max uint64
	img *image
}

// Reallocate implements experimental.LinearMemory.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if m.buf == nil && m.img != nil {
		// The first call asks for the module's minimum; the image may be larger, and the
		// host grows the memory to it next.
		m.buf = make([]byte, max(size, uint64(len(m.img.mem))))
		copy(m.buf, m.img.mem)
	}
	if size > uint64(cap(m.buf)) {
		// Grow amortises (as append does), so growing page by page is not quadratic.
		m.buf = slices.Grow(m.buf, int(size)-len(m.buf))
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *sliceMemory) Free() { m.buf = nil }
