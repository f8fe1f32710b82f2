package luacbor

import (
	"encoding/binary"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// maxSizeHint caps the capacity Decode preallocates for one table. A declared length is
// only checked against the bytes that remain, so trusting it fully would let a value
// nested maxDecodeDepth deep reserve maxDecodeDepth times its own size before the
// truncation is noticed; past the cap, tables grow as their elements actually arrive.
const maxSizeHint = 1 << 10

// maxPadding bounds the nil slots gopher-lua may add while Decode fills tables. An
// integer key k in [1, lua.MaxArrayIndex) always lives in a table's array part, which
// gopher-lua pads with nils up to k, so a seven-byte map {67108863: 1} would otherwise
// cost a gigabyte. 1<<20 slots (16 MiB) admits any reasonably sparse table.
const maxPadding = 1 << 20

// decoder is the state of one Decode call.
type decoder struct {
	L       *lua.LState
	b       []byte
	off     int
	padding int // nil slots added so far, against maxPadding
}

// Decode converts one CBOR data item (exactly one, no trailing bytes) to a Lua value,
// creating tables in L. Any malformed or unsupported input gives a *DecodeError, never
// a panic: tags, indefinite lengths, simple values other than false, true, null and
// undefined, map keys that are not strings or numbers (or are NaN), nesting deeper than
// the message envelope allows, and declared lengths longer than the input.
//
// Null and undefined become nil, so a null array element leaves a hole and a map
// entry with a null value is dropped, as assigning nil in Lua would. Text strings are
// not checked for UTF-8: the host lets such values through, and a Lua string holds any
// bytes.
func Decode(L *lua.LState, b []byte) (lua.LValue, error) {
	d := decoder{L: L, b: b}
	v, err := d.value(0)
	if err != nil {
		return lua.LNil, err
	}
	if d.off != len(b) {
		return lua.LNil, d.fail(d.off, strconv.Itoa(len(b)-d.off)+" trailing bytes after the value")
	}
	return v, nil
}

func (d *decoder) fail(off int, reason string) error {
	return &DecodeError{Offset: off, Reason: reason}
}

// head reads an initial byte and its argument. It refuses reserved additional
// information and indefinite lengths (and the break code), which no stored value uses.
func (d *decoder) head() (major, ai byte, arg uint64, err error) {
	start := d.off
	if start >= len(d.b) {
		return 0, 0, 0, d.fail(start, "unexpected end of input")
	}
	ib := d.b[start]
	major, ai = ib&0xe0, ib&0x1f
	d.off++
	var size int
	switch {
	case ai < 24:
		return major, ai, uint64(ai), nil
	case ai == 24:
		size = 1
	case ai == 25:
		size = 2
	case ai == 26:
		size = 4
	case ai == 27:
		size = 8
	case ai == 31:
		if major == majorSimple {
			return 0, 0, 0, d.fail(start, "unexpected break code")
		}
		return 0, 0, 0, d.fail(start, "indefinite-length items are not supported")
	default:
		return 0, 0, 0, d.fail(start, "reserved additional information "+strconv.Itoa(int(ai)))
	}
	if len(d.b)-d.off < size {
		return 0, 0, 0, d.fail(start, "unexpected end of input")
	}
	p := d.b[d.off:]
	switch size {
	case 1:
		arg = uint64(p[0])
	case 2:
		arg = uint64(binary.BigEndian.Uint16(p))
	case 4:
		arg = uint64(binary.BigEndian.Uint32(p))
	default:
		arg = binary.BigEndian.Uint64(p)
	}
	d.off += size
	return major, ai, arg, nil
}

// remaining is the number of unread bytes, as a uint64 for comparing with lengths.
func (d *decoder) remaining() uint64 { return uint64(len(d.b) - d.off) }

func (d *decoder) value(depth int) (lua.LValue, error) {
	start := d.off
	major, ai, arg, err := d.head()
	if err != nil {
		return lua.LNil, err
	}
	switch major {
	case majorUint:
		if arg < uint64(len(smallInts)) {
			return smallInts[arg], nil
		}
		return lua.LNumber(float64(arg)), nil
	case majorNegInt:
		return lua.LNumber(-1 - float64(arg)), nil
	case majorBytes, majorText:
		return d.str(start, arg)
	case majorArray:
		return d.array(start, depth+1, arg)
	case majorMap:
		return d.mapping(start, depth+1, arg)
	case majorTag:
		return lua.LNil, d.fail(start, "tags are not supported")
	}
	switch ai {
	case 20:
		return lua.LFalse, nil
	case 21:
		return lua.LTrue, nil
	case 22, 23: // null, undefined
		return lua.LNil, nil
	case 25, 26, 27:
		return lua.LNumber(floatArg(ai, arg)), nil
	}
	return lua.LNil, d.fail(start, "simple value "+strconv.FormatUint(arg, 10)+" is not supported")
}

func (d *decoder) str(start int, n uint64) (lua.LValue, error) {
	s, err := d.strBody(start, n)
	if err != nil {
		return lua.LNil, err
	}
	return lua.LString(s), nil
}

// strBody reads the n bytes of a string whose head starts at start.
func (d *decoder) strBody(start int, n uint64) (string, error) {
	if n > d.remaining() {
		return "", d.fail(start, "string longer than the input")
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s, nil
}

func (d *decoder) array(start, depth int, n uint64) (lua.LValue, error) {
	if depth > maxDecodeDepth {
		return lua.LNil, d.fail(start, "nesting deeper than "+strconv.Itoa(maxDecodeDepth)+" levels")
	}
	// Every element takes at least one byte, so a longer count is a lie; refusing it
	// before allocating keeps a few hostile bytes from reserving gigabytes.
	if n > d.remaining() {
		return lua.LNil, d.fail(start, "array of "+strconv.FormatUint(n, 10)+" elements longer than the input")
	}
	t := d.L.CreateTable(int(min(n, maxSizeHint)), 0)
	for i := 1; i <= int(n); i++ {
		v, err := d.value(depth)
		if err != nil {
			return lua.LNil, err
		}
		if v != lua.LNil {
			// Elements arrive in order, so RawSetInt pads at most the nulls just read,
			// one input byte each: no padding budget needed here.
			t.RawSetInt(i, v)
		}
	}
	return t, nil
}

func (d *decoder) mapping(start, depth int, n uint64) (lua.LValue, error) {
	if depth > maxDecodeDepth {
		return lua.LNil, d.fail(start, "nesting deeper than "+strconv.Itoa(maxDecodeDepth)+" levels")
	}
	if n > d.remaining()/2 {
		return lua.LNil, d.fail(start, "map of "+strconv.FormatUint(n, 10)+" pairs longer than the input")
	}
	t := d.L.CreateTable(0, int(min(n, maxSizeHint)))
	alen := 0 // length of t's array part: the largest array key set so far
	for range n {
		kstart := d.off
		ks, kn, isStr, err := d.key()
		if err != nil {
			return lua.LNil, err
		}
		v, err := d.value(depth)
		if err != nil {
			return lua.LNil, err
		}
		if v == lua.LNil {
			continue
		}
		if isStr {
			// Straight to the string part: boxing the key into an LValue first would
			// cost an allocation per key for nothing.
			t.RawSetString(ks, v)
			continue
		}
		if f := float64(kn); f == math.Trunc(f) && f > float64(alen) && f < float64(lua.MaxArrayIndex) {
			if pad := int(f) - alen - 1; pad > 0 {
				if d.padding += pad; d.padding > maxPadding {
					return lua.LNil, d.fail(kstart, "integer keys too sparse: over "+strconv.Itoa(maxPadding)+" holes")
				}
			}
			alen = int(f)
		}
		t.RawSet(number(kn), v)
	}
	return t, nil
}

// key reads a map key: a string (isStr) or a number. Only strings and numbers can be
// keys in a stored value, and NaN cannot be a Lua table key at all.
func (d *decoder) key() (s string, n lua.LNumber, isStr bool, err error) {
	start := d.off
	major, ai, arg, err := d.head()
	if err != nil {
		return "", 0, false, err
	}
	switch major {
	case majorUint:
		return "", lua.LNumber(float64(arg)), false, nil
	case majorNegInt:
		return "", lua.LNumber(-1 - float64(arg)), false, nil
	case majorBytes, majorText:
		s, err = d.strBody(start, arg)
		return s, 0, err == nil, err
	case majorSimple:
		if ai == 25 || ai == 26 || ai == 27 {
			f := floatArg(ai, arg)
			if math.IsNaN(f) {
				return "", 0, false, d.fail(start, "map key NaN is not supported")
			}
			return "", lua.LNumber(f), false, nil
		}
	}
	return "", 0, false, d.fail(start, "map key must be a string or a number")
}

// smallInts holds small integers already boxed as lua.LValue. Go boxes a float64 into an
// interface with a heap allocation, and small integers (counts, ages, ids, indexes) are
// most of the numbers stored values hold.
var smallInts = func() (a [256]lua.LValue) {
	for i := range a {
		a[i] = lua.LNumber(i)
	}
	return a
}()

// number boxes n, without allocating when it is a small integer.
func number(n lua.LNumber) lua.LValue {
	if n >= 0 && n < lua.LNumber(len(smallInts)) && n == lua.LNumber(int(n)) {
		return smallInts[int(n)]
	}
	return n
}

// floatArg converts the argument of a float head (ai 25, 26 or 27) to a float64.
func floatArg(ai byte, arg uint64) float64 {
	switch ai {
	case 25:
		return halfToFloat64(uint16(arg))
	case 26:
		return float64(math.Float32frombits(uint32(arg)))
	default:
		return math.Float64frombits(arg)
	}
}

// halfToFloat64 widens an IEEE 754 binary16. Every binary16 is exact in a float64.
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
