package wasmpass

import "fmt"

// reader decodes the binary format with strict bounds. Errors are raised by panicking
// with *Error or *LimitError; Check and Rewrite recover them at the top, which keeps
// the decoders free of error plumbing.
type reader struct {
	b     []byte // the whole module: offsets in errors are offsets in the input
	pos   int
	end   int    // end of the current section or body
	where string // the place, for errors: "code section, function 12"
}

func (r *reader) fail(format string, args ...any) {
	panic(&Error{Where: r.where, Offset: r.pos, Msg: fmt.Sprintf(format, args...)})
}

// limit refuses value when it exceeds max (a Limits field, named by name).
func (r *reader) limit(name string, value, max uint64) {
	if value > max {
		panic(&LimitError{Limit: name, Where: r.where, Offset: r.pos, Value: value, Max: max})
	}
}

func (r *reader) byte() byte {
	if r.pos >= r.end {
		r.fail("unexpected end")
	}
	b := r.b[r.pos]
	r.pos++
	return b
}

// bytes skips n bytes, checking them against what is left before anything else.
func (r *reader) bytes(n uint64) []byte {
	if n > uint64(r.end-r.pos) {
		r.fail("length %d exceeds the %d bytes left", n, r.end-r.pos)
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s
}

func (r *reader) u32() uint32 {
	if r.pos < r.end && r.b[r.pos] < 0x80 {
		r.pos++
		return uint32(r.b[r.pos-1])
	}
	return uint32(r.leb(5, 32, false))
}

func (r *reader) s32() int32 { return int32(r.leb(5, 32, true)) }
func (r *reader) s33() int64 { return r.leb(5, 33, true) }
func (r *reader) s64() int64 { return r.leb(10, 64, true) }

// leb decodes an LEB128 of at most maxBytes bytes holding a bits-bit integer, and
// refuses an encoding whose unused bits in the last byte are not zero (unsigned) or
// copies of the sign bit (signed), as the specification requires.
func (r *reader) leb(maxBytes, bits int, signed bool) int64 {
	var v uint64
	for i := 0; ; i++ {
		if i == maxBytes {
			r.fail("integer representation too long")
		}
		b := r.byte()
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if used := 7 * i; used+7 > bits {
				// The last byte: bits above the integer's width must be zero or sign copies.
				extra := b >> (bits - used)
				if signed {
					sign := (b >> (bits - used - 1)) & 1
					if !(sign == 0 && extra == 0 || sign == 1 && extra == 0x7f>>(bits-used)) {
						r.fail("integer too large")
					}
				} else if extra != 0 {
					r.fail("integer too large")
				}
			}
			if signed && 7*(i+1) < 64 && b&0x40 != 0 {
				v |= ^uint64(0) << (7 * (i + 1))
			}
			return int64(v)
		}
	}
}

// count reads a vector length and refuses it, before anything is allocated for it,
// when it exceeds max or cannot fit in the bytes left at minBytes bytes per item.
func (r *reader) count(name string, max uint64, minBytes int) uint32 {
	n := r.u32()
	r.limit(name, uint64(n), max)
	if uint64(n)*uint64(minBytes) > uint64(r.end-r.pos) {
		r.fail("count %d exceeds the %d bytes left", n, r.end-r.pos)
	}
	return n
}

func (r *reader) name() string { return string(r.bytes(uint64(r.u32()))) }

// appendU32 encodes v in LEB128 using at least width bytes (padding with
// continuation bytes), so that an unchanged value keeps its original encoding.
func appendU32(dst []byte, v uint32, width int) []byte {
	n := 1
	for x := v >> 7; x != 0; x >>= 7 {
		n++
	}
	if width > n && width <= 5 {
		n = width
	}
	for i := 0; i < n-1; i++ {
		dst = append(dst, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}
