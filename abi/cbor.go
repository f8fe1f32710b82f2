package abi

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// The CBOR (RFC 8949) primitives of the contract: one head reader and one head writer,
// the number rule and the depth rule. The envelope codec (codec.go) and the guest's Lua
// value codec (guest/luacbor) are both built on them, so the two agree on what a
// well-formed item is.

// CBOR major types, shifted into the initial byte.
const (
	MajorUint   byte = 0 << 5
	MajorNeg    byte = 1 << 5
	MajorBytes  byte = 2 << 5
	MajorText   byte = 3 << 5
	MajorArray  byte = 4 << 5
	MajorMap    byte = 5 << 5
	MajorTag    byte = 6 << 5
	MajorSimple byte = 7 << 5
)

// Initial bytes of the simple values and floats the contract uses.
const (
	False     byte = 0xf4
	True      byte = 0xf5
	Null      byte = 0xf6
	Undefined byte = 0xf7
	Float16   byte = 0xf9
	Float32   byte = 0xfa
	Float64   byte = 0xfb
)

// MaxExactInt is the largest magnitude of an integer that a float64, and so a Lua number,
// holds exactly. By the number rule, integers within it are CBOR integers; any other
// number is a float64.
const MaxExactInt = 1 << 53

// Errors of the head reader and the limits. A decoder wraps them with the offset.
var (
	errTruncated  = errors.New("unexpected end of input")
	errLonger     = errors.New("declared length longer than the input")
	errIndefinite = errors.New("indefinite-length items are not allowed")
	errBreak      = errors.New("unexpected break code")
	errTag        = errors.New("tags are not allowed")
)

// AppendHead appends the shortest head of major type major with argument arg. The
// one-byte case is split off so that it is inlined.
func AppendHead(dst []byte, major byte, arg uint64) []byte {
	if arg < 24 {
		return append(dst, major|byte(arg))
	}
	return appendLongHead(dst, major, arg)
}

func appendLongHead(dst []byte, major byte, arg uint64) []byte {
	switch {
	case arg <= math.MaxUint8:
		return append(dst, major|24, byte(arg))
	case arg <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, major|25), uint16(arg))
	case arg <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, major|26), uint32(arg))
	}
	return binary.BigEndian.AppendUint64(append(dst, major|27), arg)
}

// AppendInt appends v as a CBOR integer with the shortest head.
func AppendInt(dst []byte, v int64) []byte {
	if v < 0 {
		return AppendHead(dst, MajorNeg, uint64(^v)) // -1-v, which cannot overflow
	}
	return AppendHead(dst, MajorUint, uint64(v))
}

// AppendFloat appends f as a float64, whatever its value (NaN and the infinities too):
// the contract has one float width.
func AppendFloat(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, Float64), math.Float64bits(f))
}

// AppendNumber appends f by the number rule: an integer within ±[MaxExactInt] as a CBOR
// integer (-0 as 0), any other number as a float64.
func AppendNumber(dst []byte, f float64) []byte {
	// NaN fails the first comparison and the infinities the range check.
	if f == math.Trunc(f) && f >= -MaxExactInt && f <= MaxExactInt {
		if f >= 0 {
			return AppendHead(dst, MajorUint, uint64(f))
		}
		return AppendHead(dst, MajorNeg, uint64(-f)-1)
	}
	return AppendFloat(dst, f)
}

// AppendText appends a text string. It does not check UTF-8: the reader does.
func AppendText(dst []byte, s string) []byte {
	return append(AppendHead(dst, MajorText, uint64(len(s))), s...)
}

// AppendBytes appends a byte string.
func AppendBytes(dst []byte, b []byte) []byte {
	return append(AppendHead(dst, MajorBytes, uint64(len(b))), b...)
}

// AppendBool appends false or true.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, True)
	}
	return append(dst, False)
}

// Head is the head of one data item: its major type, the additional information (the low
// five bits of the initial byte) and the argument (a length, a count, an integer, or the
// bits of a float).
type Head struct {
	Major byte
	Info  byte
	Arg   uint64
}

// IsFloat reports whether h is a float of any width.
func (h Head) IsFloat() bool { return h.Major == MajorSimple && h.Info >= 25 && h.Info <= 27 }

// Float returns the value of a float head (see IsFloat); every width is exact in a float64.
func (h Head) Float() float64 {
	switch h.Info {
	case 25:
		return halfToFloat64(uint16(h.Arg))
	case 26:
		return float64(math.Float32frombits(uint32(h.Arg)))
	}
	return math.Float64frombits(h.Arg)
}

// Number returns the number h holds, an integer or a float of any width, as a float64;
// ok is false for anything else.
func (h Head) Number() (f float64, ok bool) {
	switch {
	case h.Major == MajorUint:
		return float64(h.Arg), true
	case h.Major == MajorNeg:
		return -1 - float64(h.Arg), true
	case h.IsFloat():
		return h.Float(), true
	}
	return 0, false
}

// halfToFloat64 widens an IEEE 754 binary16.
func halfToFloat64(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var f float64
	switch exp {
	case 0: // zero or subnormal
		f = math.Ldexp(mant, -24)
	case 0x1f:
		if mant == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(mant+1024, exp-25)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}

// Decoder reads CBOR items from a byte slice. Every read checks the bounds first, so
// no input makes it panic, and nothing it does allocates. The zero Decoder reads nothing.
type Decoder struct {
	b   []byte
	off int
}

// NewDecoder returns a decoder at the start of b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Offset is the position of the next byte to read.
func (d *Decoder) Offset() int { return d.off }

// Remaining is the number of bytes not read yet.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Peek returns the next initial byte without reading it; ok is false at the end.
func (d *Decoder) Peek() (c byte, ok bool) {
	if d.off < len(d.b) {
		return d.b[d.off], true
	}
	return 0, false
}

// Head reads the head of the next item. It refuses what no item of the contract
// starts with: a truncated head, reserved additional information (28 to 30), an
// indefinite length, the break code, a two-byte simple value below 32, and a tag.
func (d *Decoder) Head() (Head, error) {
	if d.off >= len(d.b) {
		return Head{}, errTruncated
	}
	c := d.b[d.off]
	h := Head{Major: c & 0xe0, Info: c & 0x1f}
	next := d.off + 1
	switch {
	case h.Info < 24:
		h.Arg = uint64(h.Info)
	case h.Info <= 27:
		n := 1 << (h.Info - 24)
		if len(d.b)-next < n {
			return Head{}, errTruncated
		}
		p := d.b[next : next+n]
		switch n {
		case 1:
			h.Arg = uint64(p[0])
		case 2:
			h.Arg = uint64(binary.BigEndian.Uint16(p))
		case 4:
			h.Arg = uint64(binary.BigEndian.Uint32(p))
		default:
			h.Arg = binary.BigEndian.Uint64(p)
		}
		if h.Major == MajorSimple && h.Info == 24 && h.Arg < 32 {
			return Head{}, errors.New("simple value " + strconv.FormatUint(h.Arg, 10) + " in two bytes")
		}
		next += n
	case h.Info == 31 && h.Major == MajorSimple:
		return Head{}, errBreak
	case h.Info == 31 && h.Major != MajorUint && h.Major != MajorNeg && h.Major != MajorTag:
		return Head{}, errIndefinite
	default:
		return Head{}, errors.New("reserved additional information " + strconv.Itoa(int(h.Info)))
	}
	if h.Major == MajorTag {
		return Head{}, errTag
	}
	d.off = next
	return h, nil
}

// Body reads the n bytes of a byte or text string's contents. The result aliases the
// decoder's input.
func (d *Decoder) Body(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.off) {
		return nil, errLonger
	}
	s := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return s, nil
}

// Enter applies the depth rule and the count rule to the head of an array or a map at
// nesting level (the outermost container is level 1), before anything is read or
// allocated for its contents: level at most maxLevel, at most [MaxElements] elements or
// pairs, and no more than the bytes left, since every element takes at least one.
func (d *Decoder) Enter(h Head, level, maxLevel int) error {
	if level > maxLevel {
		return errors.New("nesting deeper than " + strconv.Itoa(maxLevel) + " levels")
	}
	items := h.Arg
	if h.Arg > MaxElements {
		return errors.New("more than " + strconv.Itoa(MaxElements) + " elements in an array or pairs in a map")
	}
	if h.Major == MajorMap {
		items *= 2
	}
	if items > uint64(len(d.b)-d.off) {
		return errLonger
	}
	return nil
}

// Skip checks and steps over one item nested in level containers (0 for a top-level
// item): the head rules, and the depth and count rules up to maxLevel. It checks
// well-formedness only: text is not checked for UTF-8, nor map keys for duplicates.
func (d *Decoder) Skip(level, maxLevel int) error {
	if d.skipSmall() {
		return nil
	}
	h, err := d.Head()
	if err != nil {
		return err
	}
	switch h.Major {
	case MajorBytes, MajorText:
		_, err = d.Body(h.Arg)
		return err
	case MajorArray, MajorMap:
		if err := d.Enter(h, level+1, maxLevel); err != nil {
			return err
		}
		n := h.Arg
		if h.Major == MajorMap {
			n *= 2
		}
		for range n {
			if d.skipSmall() {
				continue
			}
			if err := d.Skip(level+1, maxLevel); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipSmall steps over the next item if its first byte tells all there is to check: an
// integer or simple value of one byte, or a string shorter than 24 bytes that fits. Most
// items of a value are, and it is small enough to be inlined into Skip's loop, where a
// call saved counts in wasm.
func (d *Decoder) skipSmall() bool {
	if d.off >= len(d.b) {
		return false
	}
	c := d.b[d.off]
	ai := int(c & 0x1f)
	if ai >= 24 {
		return false
	}
	switch c >> 5 {
	case 0, 1, 7:
		d.off++
		return true
	case 2, 3:
		if ai < len(d.b)-d.off {
			d.off += 1 + ai
			return true
		}
	}
	return false
}

// Raw steps over one item nested in level containers, as Skip does, and returns its
// bytes, aliasing the input.
func (d *Decoder) Raw(level, maxLevel int) ([]byte, error) {
	start := d.off
	if err := d.Skip(level, maxLevel); err != nil {
		return nil, err
	}
	return d.b[start:d.off:d.off], nil
}

// DecodeError is input that a decoder of this package refuses.
type DecodeError struct {
	What   string // "request", "response", "value"
	Offset int    // where the problem was found
	Err    error
}

// Error says what could not be decoded, why, and where.
func (e *DecodeError) Error() string {
	return "abi: malformed " + e.What + ": " + e.Err.Error() + " (at byte " + strconv.Itoa(e.Offset) + ")"
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

func (d *Decoder) fail(what string, err error) error {
	return &DecodeError{What: what, Offset: d.off, Err: err}
}

// end refuses bytes after the one item.
func (d *Decoder) end(what string) error {
	if d.off != len(d.b) {
		return d.fail(what, errors.New(strconv.Itoa(len(d.b)-d.off)+" bytes after the "+what))
	}
	return nil
}
