package abi

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// This file is a hand-written codec for the envelope, for the guest: [AppendRequest]
// and [ReadResponse]. They exist because fxamacker/cbor reflects on every call, and
// inside Go-on-wasm that costs 2-3x per store call, where allocation is about 11x
// dearer than native. The host keeps using [DecMode] and [EncMode]; these functions are
// held byte for byte and message for message to them by abi/wire_test.go.

// CBOR major types, already shifted into the initial byte.
const (
	majorUint  byte = 0 << 5
	majorNeg   byte = 1 << 5
	majorBytes byte = 2 << 5
	majorText  byte = 3 << 5
	majorArray byte = 4 << 5
	majorMap   byte = 5 << 5
	majorTag   byte = 6 << 5
	majorOther byte = 7 << 5
)

// AppendRequest appends r, encoded exactly as [EncMode].Marshal(r) encodes it, to dst
// and returns the extended slice. It neither reflects nor allocates beyond growing dst,
// so a caller that passes the previous result back as dst[:0] encodes without
// allocating.
//
// r.Value is embedded as is and is not checked: for a Value that is not one
// well-formed CBOR item without tags or indefinite lengths, where EncMode.Marshal
// returns an error, AppendRequest writes the bytes anyway and the host refuses the
// request as Invalid. Stored values are checked by the host in any case
// ([CheckValue]), so checking here would only walk them twice.
func AppendRequest(dst []byte, r *Request) []byte {
	// One growth up front instead of several: 16 bytes bound a key and a head, and
	// 64 covers the Error map's keys and heads.
	size := 1 + 14*16 + len(r.ID) + len(r.Key) + len(r.Value) + len(r.Prefix) + len(r.After)
	n := 1 // op is always present: it has no omitempty
	if r.Handle != 0 {
		n++
	}
	if r.ID != "" {
		n++
	}
	if r.Err != nil {
		n++
		size += 64 + len(r.Err.Kind) + len(r.Err.Message)
	}
	if len(r.Key) != 0 {
		n++
	}
	if r.TTL != 0 {
		n++
	}
	if len(r.Value) != 0 {
		n++
	}
	if len(r.After) != 0 {
		n++
	}
	// -0 counts as zero, as omitempty has it; NaN does not.
	if r.Delta != 0 || math.IsNaN(r.Delta) {
		n++
	}
	if r.IfVersion != nil {
		n++
		size += len(*r.IfVersion)
	}
	if r.Limit != 0 {
		n++
	}
	if r.OnlyIfAbsent {
		n++
	}
	if r.Limits {
		n++
	}
	if len(r.Prefix) != 0 {
		n++
	}
	dst = slices.Grow(dst, size)

	// The keys go in the order core deterministic encoding sorts them (shorter
	// encodings first, then bytewise): h, id, op, err, key, ttl, val, after, delta,
	// ifver, limit, absent, limits, prefix. Each is appended byte by byte, with its text head,
	// because Go-on-wasm makes a call of every append of a string, and calls are dear
	// there.
	dst = append(dst, majorMap|byte(n)) // n <= 14 fits the initial byte
	if r.Handle != 0 {
		dst = appendHead(append(dst, 0x61, 'h'), majorUint, uint64(r.Handle))
	}
	if r.ID != "" {
		dst = appendHead(append(dst, 0x62, 'i', 'd'), majorText, uint64(len(r.ID)))
		dst = append(dst, r.ID...)
	}
	dst = appendHead(append(dst, 0x62, 'o', 'p'), majorUint, uint64(r.Op))
	if r.Err != nil {
		dst = appendError(append(dst, 0x63, 'e', 'r', 'r'), r.Err)
	}
	if len(r.Key) != 0 {
		dst = appendHead(append(dst, 0x63, 'k', 'e', 'y'), majorBytes, uint64(len(r.Key)))
		dst = append(dst, r.Key...)
	}
	if r.TTL != 0 {
		dst = appendInt(append(dst, 0x63, 't', 't', 'l'), r.TTL)
	}
	if len(r.Value) != 0 {
		dst = append(append(dst, 0x63, 'v', 'a', 'l'), r.Value...)
	}
	if len(r.After) != 0 {
		dst = appendHead(append(dst, 0x65, 'a', 'f', 't', 'e', 'r'), majorBytes, uint64(len(r.After)))
		dst = append(dst, r.After...)
	}
	if r.Delta != 0 || math.IsNaN(r.Delta) {
		dst = appendFloat(append(dst, 0x65, 'd', 'e', 'l', 't', 'a'), r.Delta)
	}
	if r.IfVersion != nil {
		dst = appendHead(append(dst, 0x65, 'i', 'f', 'v', 'e', 'r'), majorText, uint64(len(*r.IfVersion)))
		dst = append(dst, *r.IfVersion...)
	}
	if r.Limit != 0 {
		dst = appendInt(append(dst, 0x65, 'l', 'i', 'm', 'i', 't'), r.Limit)
	}
	if r.OnlyIfAbsent {
		dst = append(dst, 0x66, 'a', 'b', 's', 'e', 'n', 't', 0xf5)
	}
	if r.Limits {
		dst = append(dst, 0x66, 'l', 'i', 'm', 'i', 't', 's', 0xf5)
	}
	if len(r.Prefix) != 0 {
		dst = appendHead(append(dst, 0x66, 'p', 'r', 'e', 'f', 'i', 'x'), majorBytes, uint64(len(r.Prefix)))
		dst = append(dst, r.Prefix...)
	}
	return dst
}

// appendError encodes e as EncMode does: msg and kind always, retry only when true.
func appendError(dst []byte, e *Error) []byte {
	if e.Retryable {
		dst = append(dst, majorMap|3)
	} else {
		dst = append(dst, majorMap|2)
	}
	// msg, kind, retry: the order EncMode sorts them in.
	dst = appendText(append(dst, 0x63, 'm', 's', 'g'), e.Message)
	dst = appendText(append(dst, 0x64, 'k', 'i', 'n', 'd'), string(e.Kind))
	if e.Retryable {
		dst = append(dst, 0x65, 'r', 'e', 't', 'r', 'y', 0xf5)
	}
	return dst
}

// appendHead appends the shortest head of major type major with argument v. The
// one-byte case is split off so that it is inlined.
func appendHead(dst []byte, major byte, v uint64) []byte {
	if v < 24 {
		return append(dst, major|byte(v))
	}
	return appendLongHead(dst, major, v)
}

func appendLongHead(dst []byte, major byte, v uint64) []byte {
	switch {
	case v <= math.MaxUint8:
		return append(dst, major|24, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, major|25), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, major|26), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, major|27), v)
}

func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		return appendHead(dst, majorNeg, uint64(^v)) // -1-v, which cannot overflow
	}
	return appendHead(dst, majorUint, uint64(v))
}

// appendText does not check UTF-8, because EncMode does not either: the bytes must
// match, and the host is the one that refuses invalid text.
func appendText(dst []byte, s string) []byte {
	dst = appendHead(dst, majorText, uint64(len(s)))
	return append(dst, s...)
}

// appendFloat writes f as EncMode does (ShortestFloatNone, with fxamacker's default
// NaN and infinity conversions): a float64 for every finite number, but NaN as
// f97e00 and the infinities as float16.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, 0xf9, 0x7e, 0x00)
	case math.IsInf(f, 1):
		return append(dst, 0xf9, 0x7c, 0x00)
	case math.IsInf(f, -1):
		return append(dst, 0xf9, 0xfc, 0x00)
	}
	return binary.BigEndian.AppendUint64(append(dst, majorOther|27), math.Float64bits(f))
}

// ReadResponse decodes the response in b into r, without reflection. It accepts the
// responses [DecodeResponse] accepts and decodes them to the same struct, with the same
// limits: nesting up to [MaxMessageDepth], at most [MaxElements] elements per array or
// pairs per map, declared lengths within the data, no tags, no indefinite lengths, no
// duplicate map keys, valid UTF-8 in the text it decodes, nothing after the message.
// Unknown keys are skipped (after the same checks), as [ResponseDecMode] does.
// Null and undefined read as fxamacker reads them: as a message, an empty response; in
// a pointer, slice or byte-string field, nil; in a bool, number or string field,
// absent; as a value (val), the value null. Every failure is a *[DecodeError] with
// What "response"; on failure r holds a partial result.
//
// Two kinds of input that DecodeResponse accepts are refused, because the ABI gives
// those fields another type and no host sends them:
//   - a simple value (major type 7 other than false, true, null, undefined and the
//     floats) where an integer belongs (h, mem, ttl): fxamacker reads simple value n
//     as the integer n;
//   - an array where a byte string belongs (key, src, the items of args, cursor):
//     fxamacker reads an array of integers 0..255 as the bytes they are.
//
// Aliasing: every byte slice of the result (Value, Entry.Key and Entry.Value, Page.Cursor
// and the items' keys and values, Task.Source and Task.Args) is a subslice of b, with
// its capacity cut at its end, so appending to one never writes into b. The caller
// must not modify b while it uses them, and must copy what it keeps past reusing b.
// Strings are copies, and the Error, Task, Entry and Info structs are new: those belong
// to the caller.
//
// Reuse: ReadResponse overwrites all of *r, so a field absent from b is zero in r
// (DecodeResponse would leave it as it was). If r.Page is not nil and b has a page, the
// page is decoded into that Page and into the backing array of its Items when that is
// large enough, so a caller listing page after page with one Response allocates the
// items once.
func ReadResponse(b []byte, r *Response) error {
	if r == nil {
		return &DecodeError{What: "response", Err: errors.New("nil *Response")}
	}
	d := decoder{b: b}
	reuse := r.Page
	*r = Response{}
	if err := d.response(r, reuse); err != nil {
		return &DecodeError{What: "response", Err: err}
	}
	return nil
}

// decoder reads one message from b. Nothing in it allocates except what the result
// needs, and every read checks the bounds of b first, so no input can make it panic.
type decoder struct {
	b   []byte
	off int
}

// The errors word their problems as fxamacker's do, so that a message reads the same
// whichever decoder found the problem, and tests can look for the same fragments.
var (
	errDepth      = errors.New("exceeded max nested level " + strconv.Itoa(MaxMessageDepth))
	errElements   = errors.New("exceeded max number of elements " + strconv.Itoa(MaxElements) + " for CBOR array")
	errPairs      = errors.New("exceeded max number of key-value pairs " + strconv.Itoa(MaxElements) + " for CBOR map")
	errTag        = errors.New("CBOR tag isn't allowed")
	errBreak      = errors.New(`unexpected "break" code`)
	errUTF8       = errors.New("invalid UTF-8 string")
	errSimpleInt  = errors.New("a simple value is not an integer")
	errArrayBytes = errors.New("an array is not a byte string")
	errTooLarge   = errors.New("declared length is too large")
	errNotMessage = errors.New("cannot unmarshal a CBOR item that is not a map into Go value of type abi.Response")
)

// extraneousError is data after the message.
type extraneousError struct{ n, at int }

func (e *extraneousError) Error() string {
	return strconv.Itoa(e.n) + " bytes of extraneous data starting at index " + strconv.Itoa(e.at)
}

// syntaxError is an initial byte that no well-formed item starts with.
type syntaxError struct{ initial byte }

func (e *syntaxError) Error() string {
	return "invalid additional information " + strconv.Itoa(int(e.initial&0x1f)) + " for type " + typeName(e.initial)
}

// indefiniteError is an indefinite-length string, array or map.
type indefiniteError struct{ initial byte }

func (e *indefiniteError) Error() string {
	return "indefinite-length " + typeName(e.initial) + " isn't allowed"
}

// typeError is an item of the wrong type for its field, or out of the field's range.
type typeError struct {
	initial byte   // the item's initial byte
	field   string // "Response.h"
	goType  string // "uint32"
	detail  string // why a number does not fit, if that is the problem
}

func (e *typeError) Error() string {
	s := "cannot unmarshal " + typeName(e.initial) + " into Go struct field abi." + e.field + " of type " + e.goType
	if e.detail != "" {
		s += " (" + e.detail + ")"
	}
	return s
}

// keyError is a map key that is neither a text string nor an integer.
type keyError struct{ initial byte }

func (e *keyError) Error() string {
	return "map key is of type " + typeName(e.initial) + " and cannot be used to match struct field name"
}

// dupKeyError is a key that appears twice in one map.
type dupKeyError struct{ key string }

func (e *dupKeyError) Error() string { return "found duplicate map key " + strconv.Quote(e.key) }

// typeName names an item's type by its initial byte, as fxamacker's messages do.
func typeName(initial byte) string {
	switch initial & 0xe0 {
	case majorUint:
		return "positive integer"
	case majorNeg:
		return "negative integer"
	case majorBytes:
		return "byte string"
	case majorText:
		return "UTF-8 text string"
	case majorArray:
		return "array"
	case majorMap:
		return "map"
	case majorTag:
		return "tag"
	}
	switch initial {
	case 0xf4, 0xf5:
		return "primitives (bool)"
	case 0xf6, 0xf7:
		return "primitives (null)"
	case 0xf9, 0xfa, 0xfb:
		return "primitives (float)"
	}
	return "primitives"
}

// head reads the head of the next item: its initial byte and its argument. It refuses
// what may not start any item of a message: a truncated head, reserved additional
// information, indefinite lengths, the break code, a two-byte simple value below 32,
// and tags.
func (d *decoder) head() (initial byte, arg uint64, err error) {
	if d.off >= len(d.b) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	initial = d.b[d.off]
	d.off++
	ai := initial & 0x1f
	switch {
	case ai < 24:
		arg = uint64(ai)
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(d.b)-d.off < n {
			return 0, 0, io.ErrUnexpectedEOF
		}
		p := d.b[d.off : d.off+n]
		switch n {
		case 1:
			arg = uint64(p[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(p))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(p))
		default:
			arg = binary.BigEndian.Uint64(p)
		}
		d.off += n
		if initial == majorOther|24 && arg < 32 {
			return 0, 0, errors.New("invalid simple value " + strconv.FormatUint(arg, 10) + " for type primitives")
		}
	case ai == 31:
		switch initial & 0xe0 {
		case majorBytes, majorText, majorArray, majorMap:
			return 0, 0, &indefiniteError{initial}
		case majorOther:
			return 0, 0, errBreak
		}
		return 0, 0, &syntaxError{initial}
	default:
		return 0, 0, &syntaxError{initial}
	}
	if initial&0xe0 == majorTag {
		return 0, 0, errTag
	}
	return initial, arg, nil
}

// span checks that n more bytes follow and returns the offset after them.
func (d *decoder) span(n uint64) (int, error) {
	if n > math.MaxInt64 {
		return 0, errTooLarge
	}
	if n > uint64(len(d.b)-d.off) {
		return 0, io.ErrUnexpectedEOF
	}
	return d.off + int(n), nil
}

// enter checks the head of an array or a map of n elements or pairs that sits inside
// depth containers, before anything is read or allocated for its contents: its level
// against MaxMessageDepth, n against MaxElements, and n against what is left of b,
// since every element takes at least one byte.
func (d *decoder) enter(initial byte, n uint64, depth int) error {
	if depth >= MaxMessageDepth {
		return errDepth
	}
	items := n
	if initial&0xe0 == majorMap {
		if n > MaxElements {
			return errPairs
		}
		items = 2 * n
	} else if n > MaxElements {
		return errElements
	}
	if items > uint64(len(d.b)-d.off) {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// skip checks and steps over one item that sits inside depth containers: the checks of
// DecMode's well-formedness pass, and nothing else. Text in it is not checked for
// UTF-8, as fxamacker does not check text it does not decode.
func (d *decoder) skip(depth int) error {
	if d.skipSmall() {
		return nil
	}
	initial, arg, err := d.head()
	if err != nil {
		return err
	}
	switch initial & 0xe0 {
	case majorBytes, majorText:
		end, err := d.span(arg)
		if err != nil {
			return err
		}
		d.off = end
	case majorArray, majorMap:
		if err := d.enter(initial, arg, depth); err != nil {
			return err
		}
		if initial&0xe0 == majorMap {
			arg *= 2
		}
		for i := uint64(0); i < arg; i++ {
			if d.skipSmall() {
				continue
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipSmall steps over the next item if it is one that needs no check beyond its
// first byte: an integer, simple value, bool or null of one byte, or a string shorter
// than 24 bytes that fits. Most items of a value are, and this is small enough to be
// inlined into skip's loop.
func (d *decoder) skipSmall() bool {
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

// raw steps over one item inside depth containers and returns its bytes.
func (d *decoder) raw(depth int) ([]byte, error) {
	start := d.off
	if err := d.skip(depth); err != nil {
		return nil, err
	}
	return d.b[start:d.off:d.off], nil
}

// null steps over a null or undefined, which fxamacker reads as "leave the field as it
// is" (and a pointer, slice or map as nil), and reports whether it did.
func (d *decoder) null() bool {
	if d.off < len(d.b) && (d.b[d.off] == 0xf6 || d.b[d.off] == 0xf7) {
		d.off++
		return true
	}
	return false
}

// structMap reads the head of a map that decodes into a struct. ok is false for a null,
// which leaves the struct as it is.
func (d *decoder) structMap(depth int, field, goType string) (n uint64, ok bool, err error) {
	if d.null() {
		return 0, false, nil
	}
	initial, n, err := d.head()
	if err != nil {
		return 0, false, err
	}
	if initial&0xe0 != majorMap {
		return 0, false, &typeError{initial: initial, field: field, goType: goType}
	}
	if err := d.enter(initial, n, depth); err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// keySet remembers the keys of one map that match no field, to refuse duplicates among
// them as DupMapKeyEnforcedAPF does. A text key and an integer key never collide. It
// compares linearly while it is small and moves to maps after, so a hostile map of many
// unknown keys costs time linear in its size.
type keySet struct {
	n     int
	small [8]keyRef
	texts map[string]struct{}
	ints  map[int64]struct{}
}

type keyRef struct {
	text  []byte
	i     int64
	isInt bool
}

// add records k and reports whether it was there already.
func (s *keySet) add(k keyRef) bool {
	if s.n < len(s.small) {
		for _, o := range s.small[:s.n] {
			if o.isInt == k.isInt && o.i == k.i && string(o.text) == string(k.text) {
				return true
			}
		}
		s.small[s.n] = k
		s.n++
		return false
	}
	if s.texts == nil {
		s.texts = make(map[string]struct{})
		s.ints = make(map[int64]struct{})
		for _, o := range s.small {
			s.put(o)
		}
	}
	if k.isInt {
		_, dup := s.ints[k.i]
		s.ints[k.i] = struct{}{}
		return dup
	}
	_, dup := s.texts[string(k.text)]
	s.put(k)
	return dup
}

func (s *keySet) put(k keyRef) {
	if k.isInt {
		s.ints[k.i] = struct{}{}
	} else {
		s.texts[string(k.text)] = struct{}{}
	}
}

// fieldName reads the key of the next pair of a struct map whose contents sit inside
// depth containers. A text key is returned for the caller to match (it aliases b); the
// caller passes a name it does not know to unknownField, which checks its UTF-8. An
// integer key matches no field of ours: fieldName records it, steps over its value and
// returns nil. Any other key is an error, as in fxamacker.
func (d *decoder) fieldName(unknown *keySet, depth int) ([]byte, error) {
	// A short text key is read here rather than through head and span: keys are most
	// of a message, and Go-on-wasm pays dearly for every call.
	if d.off < len(d.b) {
		if c := d.b[d.off]; c >= majorText && c < majorText+24 {
			if n := int(c - majorText); n < len(d.b)-d.off {
				name := d.b[d.off+1 : d.off+1+n]
				d.off += 1 + n
				return name, nil
			}
		}
	}
	initial, arg, err := d.head()
	if err != nil {
		return nil, err
	}
	switch initial & 0xe0 {
	case majorText:
		end, err := d.span(arg)
		if err != nil {
			return nil, err
		}
		name := d.b[d.off:end]
		d.off = end
		// UTF-8 is checked by unknownField: a name that matches a field is ASCII.
		return name, nil
	case majorUint, majorNeg:
		if arg > math.MaxInt64 {
			return nil, errors.New("map key " + strconv.FormatUint(arg, 10) + " overflows Go's int64")
		}
		i := int64(arg)
		if initial&0xe0 == majorNeg {
			i = ^i
		}
		if unknown.add(keyRef{i: i, isInt: true}) {
			return nil, &dupKeyError{strconv.FormatInt(i, 10)}
		}
		return nil, d.skip(depth)
	}
	return nil, &keyError{initial}
}

// unknownField checks and records a text key that matched no field, and steps over
// its value.
func (d *decoder) unknownField(unknown *keySet, name []byte, depth int) error {
	if !utf8.Valid(name) {
		return errUTF8
	}
	if unknown.add(keyRef{text: name}) {
		return &dupKeyError{string(name)}
	}
	return d.skip(depth)
}

// seen marks field bit in have, refusing a key that came before.
func seen(have *uint16, bit uint16, name []byte) error {
	if *have&bit != 0 {
		return &dupKeyError{string(name)}
	}
	*have |= bit
	return nil
}

// The field readers below decode one value into a field. A null or undefined leaves a
// bool, number or string field as it is, as fxamacker's fillNil does.

func (d *decoder) boolField(dst *bool, field string) error {
	if d.off >= len(d.b) {
		return io.ErrUnexpectedEOF
	}
	switch c := d.b[d.off]; c {
	case 0xf4, 0xf5:
		*dst = c == 0xf5
	case 0xf6, 0xf7:
	default:
		return &typeError{initial: c, field: field, goType: "bool"}
	}
	d.off++
	return nil
}

// integer reads an integer head for field, refusing the types fxamacker refuses.
func (d *decoder) integer(field, goType string) (initial byte, arg uint64, err error) {
	initial, arg, err = d.head()
	if err != nil {
		return 0, 0, err
	}
	switch initial & 0xe0 {
	case majorUint, majorNeg:
		return initial, arg, nil
	case majorOther:
		if ai := initial & 0x1f; ai < 20 || ai == 24 {
			return 0, 0, errSimpleInt
		}
	}
	return 0, 0, &typeError{initial: initial, field: field, goType: goType}
}

func (d *decoder) uint32Field(dst *uint32, field string) error {
	if d.null() {
		return nil
	}
	initial, arg, err := d.integer(field, "uint32")
	if err != nil {
		return err
	}
	if initial&0xe0 == majorNeg {
		return &typeError{initial: initial, field: field, goType: "uint32"}
	}
	if arg > math.MaxUint32 {
		return &typeError{initial: initial, field: field, goType: "uint32", detail: strconv.FormatUint(arg, 10) + " overflows uint32"}
	}
	*dst = uint32(arg)
	return nil
}

func (d *decoder) int64Value(field string) (int64, error) {
	initial, arg, err := d.integer(field, "int64")
	if err != nil {
		return 0, err
	}
	if arg > math.MaxInt64 {
		return 0, &typeError{initial: initial, field: field, goType: "int64", detail: "overflows Go's int64"}
	}
	if initial&0xe0 == majorNeg {
		return ^int64(arg), nil
	}
	return int64(arg), nil
}

func (d *decoder) int64Field(dst *int64, field string) error {
	if d.null() {
		return nil
	}
	v, err := d.int64Value(field)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// textBytes reads a text string for field and checks its UTF-8. ok is false for a
// null. The result aliases b; the caller converts it to a string.
func (d *decoder) textBytes(field string) (s []byte, ok bool, err error) {
	if d.null() {
		return nil, false, nil
	}
	initial, arg, err := d.head()
	if err != nil {
		return nil, false, err
	}
	if initial&0xe0 != majorText {
		return nil, false, &typeError{initial: initial, field: field, goType: "string"}
	}
	end, err := d.span(arg)
	if err != nil {
		return nil, false, err
	}
	s = d.b[d.off:end]
	d.off = end
	if !utf8.Valid(s) {
		return nil, false, errUTF8
	}
	return s, true, nil
}

func (d *decoder) textField(dst *string, field string) error {
	s, ok, err := d.textBytes(field)
	if ok {
		*dst = string(s)
	}
	return err
}

// bytesField reads a byte string, aliasing b; a null is nil.
func (d *decoder) bytesField(dst *[]byte, field string) error {
	if d.null() {
		*dst = nil
		return nil
	}
	initial, arg, err := d.head()
	if err != nil {
		return err
	}
	switch initial & 0xe0 {
	case majorBytes:
	case majorArray:
		return errArrayBytes
	default:
		return &typeError{initial: initial, field: field, goType: "[]uint8"}
	}
	end, err := d.span(arg)
	if err != nil {
		return err
	}
	*dst = d.b[d.off:end:end]
	d.off = end
	return nil
}

// response reads the top-level item into r, which is zero; reuse is the caller's old
// page, if any.
func (d *decoder) response(r *Response, reuse *Page) error {
	if len(d.b) == 0 {
		return io.EOF
	}
	var n uint64
	if d.null() {
		// fxamacker decodes a top-level null or undefined into a struct as nothing.
		n = 0
	} else {
		initial, arg, err := d.head()
		if err != nil {
			return err
		}
		if initial&0xe0 != majorMap {
			// A malformed item refused as a type error is still refused.
			return errNotMessage
		}
		if err := d.enter(initial, arg, 0); err != nil {
			return err
		}
		n = arg
	}
	const (
		fErr uint16 = 1 << iota
		fOK
		fH
		fVal
		fTask
		fEntry
		fPage
		fInfo
		fMaxVal
	)
	var have uint16
	var unknown keySet
	for i := uint64(0); i < n; i++ {
		name, err := d.fieldName(&unknown, 1)
		if err != nil {
			return err
		}
		if name == nil {
			continue
		}
		switch string(name) {
		case "err":
			if err = seen(&have, fErr, name); err == nil {
				r.Err, err = d.errorPtr(1)
			}
		case "ok":
			if err = seen(&have, fOK, name); err == nil {
				err = d.boolField(&r.OK, "Response.ok")
			}
		case "h":
			if err = seen(&have, fH, name); err == nil {
				err = d.uint32Field(&r.Handle, "Response.h")
			}
		case "val":
			if err = seen(&have, fVal, name); err == nil {
				r.Value, err = d.raw(1)
			}
		case "task":
			if err = seen(&have, fTask, name); err == nil {
				r.Task, err = d.task(1)
			}
		case "entry":
			if err = seen(&have, fEntry, name); err == nil {
				r.Entry, err = d.entryPtr(1)
			}
		case "page":
			if err = seen(&have, fPage, name); err == nil {
				r.Page, err = d.page(1, reuse)
			}
		case "info":
			if err = seen(&have, fInfo, name); err == nil {
				r.Info, err = d.info(1)
			}
		case "maxval":
			if err = seen(&have, fMaxVal, name); err == nil {
				err = d.int64Field(&r.MaxValueBytes, "Response.maxval")
			}
		default:
			err = d.unknownField(&unknown, name, 1)
		}
		if err != nil {
			return err
		}
	}
	if d.off != len(d.b) {
		return &extraneousError{len(d.b) - d.off, d.off}
	}
	return nil
}

// errorPtr reads an Error map that sits inside depth containers.
func (d *decoder) errorPtr(depth int) (*Error, error) {
	if d.null() {
		return nil, nil
	}
	n, _, err := d.structMap(depth, "Response.err", "abi.Error")
	if err != nil {
		return nil, err
	}
	e := new(Error)
	const (
		fKind uint16 = 1 << iota
		fMsg
		fRetry
	)
	var have uint16
	var unknown keySet
	for i := uint64(0); i < n; i++ {
		name, err := d.fieldName(&unknown, depth+1)
		if err != nil {
			return nil, err
		}
		if name == nil {
			continue
		}
		switch string(name) {
		case "kind":
			if err = seen(&have, fKind, name); err == nil {
				var s []byte
				var ok bool
				if s, ok, err = d.textBytes("Error.kind"); ok {
					e.Kind = internKind(s)
				}
			}
		case "msg":
			if err = seen(&have, fMsg, name); err == nil {
				err = d.textField(&e.Message, "Error.msg")
			}
		case "retry":
			if err = seen(&have, fRetry, name); err == nil {
				err = d.boolField(&e.Retryable, "Error.retry")
			}
		default:
			err = d.unknownField(&unknown, name, depth+1)
		}
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

// internKind returns the constant for a kind this package knows, so the common errors
// (NotFound above all) do not allocate their kind.
func internKind(s []byte) Kind {
	for _, n := range KindNames {
		if string(n.Kind) == string(s) {
			return n.Kind
		}
	}
	return Kind(s)
}

// intern returns the member of names equal to s, or a new string.
func intern(s []byte, names []string) string {
	for _, n := range names {
		if n == string(s) {
			return n
		}
	}
	return string(s)
}

func (d *decoder) task(depth int) (*Task, error) {
	if d.null() {
		return nil, nil
	}
	n, _, err := d.structMap(depth, "Response.task", "abi.Task")
	if err != nil {
		return nil, err
	}
	t := new(Task)
	const (
		fName uint16 = 1 << iota
		fSrc
		fArgs
		fMem
	)
	var have uint16
	var unknown keySet
	for i := uint64(0); i < n; i++ {
		name, err := d.fieldName(&unknown, depth+1)
		if err != nil {
			return nil, err
		}
		if name == nil {
			continue
		}
		switch string(name) {
		case "name":
			if err = seen(&have, fName, name); err == nil {
				err = d.textField(&t.Name, "Task.name")
			}
		case "src":
			if err = seen(&have, fSrc, name); err == nil {
				err = d.bytesField(&t.Source, "Task.src")
			}
		case "args":
			if err = seen(&have, fArgs, name); err == nil {
				t.Args, err = d.args(depth + 1)
			}
		case "mem":
			if err = seen(&have, fMem, name); err == nil {
				err = d.int64Field(&t.MemoryLimit, "Task.mem")
			}
		default:
			err = d.unknownField(&unknown, name, depth+1)
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// args reads Task.Args, an array of byte strings inside depth containers.
func (d *decoder) args(depth int) ([][]byte, error) {
	if d.null() {
		return nil, nil
	}
	initial, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if initial&0xe0 != majorArray {
		return nil, &typeError{initial: initial, field: "Task.args", goType: "[][]uint8"}
	}
	if err := d.enter(initial, n, depth); err != nil {
		return nil, err
	}
	args := make([][]byte, n) // bounded by len(b) through enter
	for i := range args {
		if err := d.bytesField(&args[i], "Task.args"); err != nil {
			return nil, err
		}
	}
	return args, nil
}

// entryBox holds an Entry and its TTL in one allocation, because allocating is what
// costs most in a wasm guest.
type entryBox struct {
	e   Entry
	ttl int64
}

func (d *decoder) entryPtr(depth int) (*Entry, error) {
	if d.null() {
		return nil, nil
	}
	box := new(entryBox)
	ttl, hasTTL, err := d.entry(&box.e, depth, "Response.entry")
	if err != nil {
		return nil, err
	}
	if hasTTL {
		box.ttl = ttl
		box.e.TTL = &box.ttl
	}
	return &box.e, nil
}

// entry reads an Entry map inside depth containers into e, which is zero; a null
// leaves it zero. The ttl is returned rather than stored, so that the caller can place
// it without an allocation of its own; hasTTL is false when it is absent or null.
func (d *decoder) entry(e *Entry, depth int, field string) (ttl int64, hasTTL bool, err error) {
	n, _, err := d.structMap(depth, field, "abi.Entry")
	if err != nil {
		return 0, false, err
	}
	const (
		fKey uint16 = 1 << iota
		fVal
		fVer
		fTTL
	)
	var have uint16
	var unknown keySet
	for i := uint64(0); i < n; i++ {
		name, err := d.fieldName(&unknown, depth+1)
		if err != nil {
			return 0, false, err
		}
		if name == nil {
			continue
		}
		switch string(name) {
		case "key":
			if err = seen(&have, fKey, name); err == nil {
				err = d.bytesField(&e.Key, "Entry.key")
			}
		case "val":
			if err = seen(&have, fVal, name); err == nil {
				e.Value, err = d.raw(depth + 1)
			}
		case "ver":
			if err = seen(&have, fVer, name); err == nil {
				err = d.textField(&e.Version, "Entry.ver")
			}
		case "ttl":
			if err = seen(&have, fTTL, name); err == nil && !d.null() {
				ttl, err = d.int64Value("Entry.ttl")
				hasTTL = err == nil
			}
		default:
			err = d.unknownField(&unknown, name, depth+1)
		}
		if err != nil {
			return 0, false, err
		}
	}
	return ttl, hasTTL, nil
}

// page reads a Page map inside depth containers, into reuse when it is not nil.
func (d *decoder) page(depth int, reuse *Page) (*Page, error) {
	if d.null() {
		return nil, nil
	}
	p := reuse
	var old []Entry
	if p == nil {
		p = new(Page)
	} else {
		old = p.Items
		*p = Page{}
	}
	n, _, err := d.structMap(depth, "Response.page", "abi.Page")
	if err != nil {
		return nil, err
	}
	const (
		fItems uint16 = 1 << iota
		fCursor
		fMore
	)
	var have uint16
	var unknown keySet
	for i := uint64(0); i < n; i++ {
		name, err := d.fieldName(&unknown, depth+1)
		if err != nil {
			return nil, err
		}
		if name == nil {
			continue
		}
		switch string(name) {
		case "items":
			if err = seen(&have, fItems, name); err == nil {
				p.Items, err = d.items(depth+1, old)
			}
		case "cursor":
			if err = seen(&have, fCursor, name); err == nil {
				err = d.bytesField(&p.Cursor, "Page.cursor")
			}
		case "more":
			if err = seen(&have, fMore, name); err == nil {
				err = d.boolField(&p.More, "Page.more")
			}
		default:
			err = d.unknownField(&unknown, name, depth+1)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// items reads Page.Items, an array of Entry inside depth containers, into old's
// backing array when it has room.
func (d *decoder) items(depth int, old []Entry) ([]Entry, error) {
	if d.null() {
		return nil, nil
	}
	initial, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if initial&0xe0 != majorArray {
		return nil, &typeError{initial: initial, field: "Page.items", goType: "[]abi.Entry"}
	}
	if err := d.enter(initial, n, depth); err != nil {
		return nil, err
	}
	var items []Entry
	if old != nil && uint64(cap(old)) >= n {
		items = old[:n]
		clear(items)
	} else {
		items = make([]Entry, n) // bounded by len(b) through enter
	}
	var ttls []int64 // one allocation for the page's ttls, made at the first one
	for i := range items {
		ttl, hasTTL, err := d.entry(&items[i], depth+1, "Page.items")
		if err != nil {
			return nil, err
		}
		if hasTTL {
			if ttls == nil {
				ttls = make([]int64, len(items))
			}
			ttls[i] = ttl
			items[i].TTL = &ttls[i]
		}
	}
	return items, nil
}

func (d *decoder) info(depth int) (*Info, error) {
	if d.null() {
		return nil, nil
	}
	n, _, err := d.structMap(depth, "Response.info", "abi.Info")
	if err != nil {
		return nil, err
	}
	in := new(Info)
	const (
		fID uint16 = 1 << iota
		fBackend
		fConsistency
		fDurable
		fList
		fVersioned
		fConditionalPut
		fTTL
	)
	var have uint16
	var unknown keySet
	for i := uint64(0); i < n; i++ {
		name, err := d.fieldName(&unknown, depth+1)
		if err != nil {
			return nil, err
		}
		if name == nil {
			continue
		}
		switch string(name) {
		case "id":
			if err = seen(&have, fID, name); err == nil {
				err = d.textField(&in.ID, "Info.id")
			}
		case "backend":
			if err = seen(&have, fBackend, name); err == nil {
				var s []byte
				var ok bool
				if s, ok, err = d.textBytes("Info.backend"); ok {
					in.Backend = intern(s, Backends)
				}
			}
		case "consistency":
			if err = seen(&have, fConsistency, name); err == nil {
				var s []byte
				var ok bool
				if s, ok, err = d.textBytes("Info.consistency"); ok {
					in.Consistency = intern(s, Consistencies)
				}
			}
		case "durable":
			if err = seen(&have, fDurable, name); err == nil {
				err = d.boolField(&in.Durable, "Info.durable")
			}
		case "list":
			if err = seen(&have, fList, name); err == nil {
				err = d.boolField(&in.List, "Info.list")
			}
		case "versioned":
			if err = seen(&have, fVersioned, name); err == nil {
				err = d.boolField(&in.Versioned, "Info.versioned")
			}
		case "conditional_put":
			if err = seen(&have, fConditionalPut, name); err == nil {
				err = d.boolField(&in.ConditionalPut, "Info.conditional_put")
			}
		case "ttl":
			if err = seen(&have, fTTL, name); err == nil {
				err = d.boolField(&in.TTL, "Info.ttl")
			}
		default:
			err = d.unknownField(&unknown, name, depth+1)
		}
		if err != nil {
			return nil, err
		}
	}
	return in, nil
}
