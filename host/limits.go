package host

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default limits of a module, when neither its config nor the run sets them.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultMemoryLimit = 128 << 20
	DefaultOutputLimit = 1 << 20
)

// minMemoryLimit is the least memory the guest's Go runtime and Lua VM start in.
const minMemoryLimit = 16 << 20

// wasmPage is the size of a wasm memory page.
const wasmPage = 64 << 10

// ByteSize is a size in bytes. In YAML it is an integer, or a string with a unit:
// "512KiB", "128MiB", "1GiB" (also KB, MB, GB as powers of 1000).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1},
}

// ParseByteSize parses "128MiB", "64KB" or "1048576".
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q (want e.g. 1048576, 512KiB, 128MiB)", s)
	}
	return ByteSize(n * mult), nil
}

// UnmarshalYAML accepts an integer or a string with a unit.
func (b *ByteSize) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String formats the size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return fmt.Sprintf("%dB", int64(b))
}

// Set makes a ByteSize usable as a command-line flag.
func (b *ByteSize) Set(s string) error {
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// memoryPages converts a memory limit to whole wasm pages, at least one.
func memoryPages(limit ByteSize) uint32 {
	pages := (int64(limit) + wasmPage - 1) / wasmPage
	return uint32(min(max(pages, 1), 65536))
}

// truncatedMarker ends output cut at the run's output limit.
const truncatedMarker = "\n[wasmkv: output truncated at %d bytes]\n"

// limitedWriter passes at most limit bytes to w, then the truncation marker once, and
// drops the rest, so a script cannot make the host buffer or write without bound.
type limitedWriter struct {
	mu        sync.Mutex
	w         io.Writer
	left      int64
	limit     int64
	truncated bool
}

func newLimitedWriter(w io.Writer, limit int64) *limitedWriter {
	return &limitedWriter{w: w, left: limit, limit: limit}
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if l.truncated {
		return n, nil
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
		l.truncated = true
	}
	l.left -= int64(len(p))
	if _, err := l.w.Write(p); err != nil {
		return n, nil // a failing sink must not fail the guest's print
	}
	if l.truncated {
		fmt.Fprintf(l.w, truncatedMarker, l.limit)
	}
	return n, nil
}

// oomWatcher watches the guest's stderr for the Go runtime's out-of-memory message, so
// that a trap can be reported as the memory limit it is.
type oomWatcher struct {
	mu   sync.Mutex
	w    io.Writer
	tail []byte // the last bytes seen, so the marker is found across writes
	seen bool
}

var oomMarker = []byte("out of memory")

func (o *oomWatcher) Write(p []byte) (int, error) {
	o.mu.Lock()
	if !o.seen {
		o.tail = append(o.tail, p...)
		if bytes.Contains(o.tail, oomMarker) {
			o.seen = true
		}
		if keep := len(oomMarker) - 1; len(o.tail) > keep {
			o.tail = append(o.tail[:0], o.tail[len(o.tail)-keep:]...)
		}
	}
	o.mu.Unlock()
	return o.w.Write(p)
}

func (o *oomWatcher) sawOOM() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen
}
