package host

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reserve maps size bytes of address space, readable and writable but backed by
// nothing until touched (MAP_NORESERVE: no swap is set aside), so a memory limit costs
// no RSS until the guest uses it.
func reserve(size uint64) ([]byte, error) {
	if size == 0 {
		return []byte{}, nil
	}
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(size), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("host: reserving %d bytes of linear memory: %w", size, err)
	}
	return unsafe.Slice((*byte)(p), size), nil
}

// release unmaps a reservation.
func release(buf []byte) {
	if cap(buf) > 0 {
		_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(buf)), uintptr(cap(buf)))
	}
}

// imageFile puts a snapshot's bytes in an anonymous in-memory file, which instances map
// privately: pages an instance never writes stay shared by all of them. It also
// returns a read-only view of the file, for resets to copy from.
func imageFile(mem []byte) (int, []byte, error) {
	if len(mem) == 0 {
		return -1, nil, fmt.Errorf("host: empty image")
	}
	fd, err := unix.MemfdCreate("wasmkv-snapshot", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, nil, err
	}
	fail := func(err error) (int, []byte, error) {
		unix.Close(fd)
		return -1, nil, err
	}
	for off := 0; off < len(mem); {
		n, err := unix.Pwrite(fd, mem[off:], int64(off))
		if err != nil {
			return fail(err)
		}
		off += n
	}
	// Sealed, no instance or host bug can change the image under the others.
	_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
	if err != nil {
		return fail(err)
	}
	p, err := unix.MmapPtr(fd, 0, nil, uintptr(len(mem)), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fail(err)
	}
	return fd, unsafe.Slice((*byte)(p), len(mem)), nil
}

func closeImageFile(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// mapImage maps the image file copy-on-write over the start of buf, replacing whatever
// was there (pages a run wrote go back to the image's).
func mapImage(buf []byte, fd int, size int) error {
	_, err := unix.MmapPtr(fd, 0, unsafe.Pointer(unsafe.SliceData(buf)), uintptr(size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	return err
}

// zeroPages gives back the pages of buf (page-aligned) as zeroes, freeing their memory.
func zeroPages(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	return unix.Madvise(buf, unix.MADV_DONTNEED)
}

// canMapImages: Linux maps snapshots copy-on-write.
const canMapImages = true

// pagemap is /proc/self/pagemap, opened once: it tells which pages of a private
// mapping of the image a run wrote (they became anonymous copies).
var pagemap struct {
	once sync.Once
	fd   int
	err  error
}

// Bits of a pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent = 1 << 63
	pmSwapped = 1 << 62
	pmFile    = 1 << 61 // a page of the file (or shared), not a private copy
)

// writtenPages calls fn with each run of consecutive pages of buf (which must start on
// a page boundary and be mapped from the image) that are private copies: pages
// written since the image was mapped. entries is scratch space.
func writtenPages(buf []byte, entries []byte, fn func(off, n int)) ([]byte, error) {
	pagemap.once.Do(func() {
		pagemap.fd, pagemap.err = unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	})
	if pagemap.err != nil {
		return entries, pagemap.err
	}
	const page = 4096
	pages := len(buf) / page
	if cap(entries) < pages*8 {
		entries = make([]byte, pages*8)
	}
	entries = entries[:pages*8]
	base := int64(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) / page * 8)
	for off := 0; off < len(entries); {
		n, err := unix.Pread(pagemap.fd, entries[off:], base+int64(off))
		if err != nil {
			return entries, err
		}
		if n == 0 {
			return entries, io.ErrUnexpectedEOF
		}
		off += n
	}
	start := -1
	for i := 0; i <= pages; i++ {
		dirty := false
		if i < pages {
			e := binary.LittleEndian.Uint64(entries[i*8:])
			dirty = e&pmSwapped != 0 || (e&pmPresent != 0 && e&pmFile == 0)
		}
		switch {
		case dirty && start < 0:
			start = i
		case !dirty && start >= 0:
			fn(start*page, (i-start)*page)
			start = -1
		}
	}
	return entries, nil
}

// prefault makes the pages of buf (page-aligned, mapped from the image) the instance's
// own now, in one call, rather than by a write fault each when the guest first writes
// them (MADV_POPULATE_WRITE, Linux 5.14; an error leaves them to fault as usual).
func prefault(buf []byte) {
	if len(buf) > 0 {
		_ = unix.Madvise(buf, unix.MADV_POPULATE_WRITE)
	}
}

// releaseView unmaps the read-only view of an image file.
func releaseView(view []byte) {
	if len(view) > 0 {
		_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(view)), uintptr(len(view)))
	}
}
