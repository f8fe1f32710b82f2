package luacbor

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
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

// decoder is the state of one Decode call, on abi's head reader.
type decoder struct {
	abi.Decoder
	L       *lua.LState
	padding int // nil slots added so far, against maxPadding
}

// Decode converts one CBOR data item (exactly one, no trailing bytes) to a Lua value,
// creating tables in L. Any malformed or unsupported input gives a *DecodeError, never
// a panic: what abi's head reader refuses (tags, indefinite lengths, reserved
// additional information), what its depth and count rules refuse (nesting deeper than
// the message envelope allows, declared lengths longer than the input), simple values
// other than false, true, null and undefined, and map keys that are not strings or
// numbers (or are NaN).
//
// Null and undefined become nil, so a null array element leaves a hole and a map
// entry with a null value is dropped, as assigning nil in Lua would. Text strings are
// not checked for UTF-8: the host lets such values through, and a Lua string holds any
// bytes.
func Decode(L *lua.LState, b []byte) (lua.LValue, error) {
	d := decoder{Decoder: *abi.NewDecoder(b), L: L}
	v, err := d.value(0)
	if err != nil {
		return lua.LNil, err
	}
	if d.Remaining() != 0 {
		return lua.LNil, d.fail(d.Offset(), strconv.Itoa(d.Remaining())+" trailing bytes after the value")
	}
	return v, nil
}

func (d *decoder) fail(off int, reason string) error {
	return &DecodeError{Offset: off, Reason: reason}
}

// head reads the next head and returns it with its offset.
func (d *decoder) head() (abi.Head, int, error) {
	start := d.Offset()
	h, err := d.Head()
	if err != nil {
		return h, start, d.fail(start, err.Error())
	}
	return h, start, nil
}

func (d *decoder) value(depth int) (lua.LValue, error) {
	h, start, err := d.head()
	if err != nil {
		return lua.LNil, err
	}
	switch h.Major {
	case abi.MajorUint:
		if h.Arg < uint64(len(smallInts)) {
			return smallInts[h.Arg], nil
		}
		return lua.LNumber(float64(h.Arg)), nil
	case abi.MajorNeg:
		return lua.LNumber(-1 - float64(h.Arg)), nil
	case abi.MajorBytes, abi.MajorText:
		s, err := d.body(start, h)
		return lua.LString(s), err
	case abi.MajorArray:
		return d.array(start, depth+1, h)
	case abi.MajorMap:
		return d.mapping(start, depth+1, h)
	}
	switch {
	case h.Info == 20:
		return lua.LFalse, nil
	case h.Info == 21:
		return lua.LTrue, nil
	case h.Info == 22 || h.Info == 23: // null, undefined
		return lua.LNil, nil
	case h.IsFloat():
		return lua.LNumber(h.Float()), nil
	}
	return lua.LNil, d.fail(start, "simple value "+strconv.FormatUint(h.Arg, 10)+" is not supported")
}

// body reads the bytes of a string whose head h starts at start.
func (d *decoder) body(start int, h abi.Head) (string, error) {
	b, err := d.Body(h.Arg)
	if err != nil {
		return "", d.fail(start, err.Error())
	}
	return string(b), nil
}

// enter applies abi's depth and count rules to a table's head, before allocating it.
func (d *decoder) enter(start, depth int, h abi.Head) error {
	if err := d.Enter(h, depth, maxDecodeDepth); err != nil {
		return d.fail(start, err.Error())
	}
	return nil
}

func (d *decoder) array(start, depth int, h abi.Head) (lua.LValue, error) {
	if err := d.enter(start, depth, h); err != nil {
		return lua.LNil, err
	}
	n := int(h.Arg)
	t := d.L.CreateTable(min(n, maxSizeHint), 0)
	for i := 1; i <= n; i++ {
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

func (d *decoder) mapping(start, depth int, h abi.Head) (lua.LValue, error) {
	if err := d.enter(start, depth, h); err != nil {
		return lua.LNil, err
	}
	t := d.L.CreateTable(0, min(int(h.Arg), maxSizeHint))
	alen := 0 // length of t's array part: the largest array key set so far
	for range h.Arg {
		kstart := d.Offset()
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
	h, start, err := d.head()
	if err != nil {
		return "", 0, false, err
	}
	if h.Major == abi.MajorBytes || h.Major == abi.MajorText {
		s, err = d.body(start, h)
		return s, 0, err == nil, err
	}
	if h.Major == abi.MajorUint || h.Major == abi.MajorNeg || h.IsFloat() {
		f, _ := h.Number()
		if math.IsNaN(f) {
			return "", 0, false, d.fail(start, "map key NaN is not supported")
		}
		return "", lua.LNumber(f), false, nil
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
