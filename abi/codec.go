package abi

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The envelope codec: requests and responses as docs/abi.md's CDDL defines them, for
// both sides. Each message type is a table of fields, in the order core deterministic
// encoding (RFC 8949 §4.2.1) sorts their keys: shorter first, then bytewise. Encoding
// writes the fields that are not empty, in that order, with the shortest heads, so one
// message has one encoding. Decoding accepts any valid encoding within the decode limits,
// in any key order and with any head width, and is strict about the rest: each field
// has one CBOR type, text is valid UTF-8, no key appears twice, required fields are
// present, and null stands for absent only where the CDDL allows it (ifver, err). A
// request with a key it does not know is refused; a response's unknown keys are checked
// and skipped, so a later host may add response fields.

// msgDecoder decodes one message; lenient is true for responses.
type msgDecoder struct {
	Decoder
	lenient bool
}

// kind is how a field's Go value is encoded.
type kind uint8

const (
	kUint8     kind = iota // Op
	kUint32                // Handle
	kInt64                 // ttl, limit, mem
	kInt64P                // *int64, absent when nil (Entry.TTL)
	kBool                  //
	kFloat                 // delta: any float width or an integer on the wire
	kText                  // string, or a type whose underlying type is string (Kind)
	kTextP                 // *string, absent when nil, present even when empty (ifver)
	kBytes                 // []byte, as a byte string; decoded, it aliases the input
	kValue                 // []byte holding one item, embedded as is; decoded, it aliases the input
	kBytesList             // [][]byte, as an array of byte strings (Task.Args)
	kStruct                // *S, a nested message
	kEntries               // []Entry (Page.Items)
)

// field is one key of a message map: its encoded key, where its Go value lies in the
// struct, and how it is encoded.
type field struct {
	name string
	key  string // the encoded key: its text head and name
	kind kind
	off  uintptr
	// zeroOff and zeroSize locate the word that is zero exactly when the field is empty
	// (the value, a length or a pointer), so that the encoder skips an empty field
	// without a call: most fields of a message are empty.
	zeroOff  uintptr
	zeroSize uint8
	required bool // decoding fails without it; encoding always writes it
	nullable bool // null reads as absent (ifver, err in a request)
	sub      *message
}

// message is the table of a message type: its fields in the order of their encoded
// keys, and how to allocate one when it is nested.
type message struct {
	fields []field
	alloc  func() unsafe.Pointer
}

func f(name string, k kind, off uintptr) field {
	// A pointer, or the length of a string or slice, is a word: 4 or 8 bytes.
	const word = uint8(unsafe.Sizeof(uintptr(0)))
	fl := field{name: name, key: string(AppendText(nil, name)), kind: k, off: off, zeroOff: off, zeroSize: word}
	switch k {
	case kUint8, kBool:
		fl.zeroSize = 1
	case kUint32:
		fl.zeroSize = 4
	case kInt64:
		fl.zeroSize = 8
	case kFloat:
		fl.zeroSize = floatZero
	case kText, kBytes, kValue, kBytesList, kEntries:
		fl.zeroOff += unsafe.Sizeof(uintptr(0)) // the length, after the data pointer
	}
	return fl
}

// floatZero is the zeroSize of a float: zero or -0 (as omitempty has it), but not NaN.
const floatZero = 9

// empty reports whether the field at v is empty and not required.
func (fl *field) empty(v unsafe.Pointer) bool {
	if fl.required {
		return false
	}
	p := unsafe.Add(v, fl.zeroOff)
	switch fl.zeroSize {
	case 1:
		return *(*uint8)(p) == 0
	case 4:
		return *(*uint32)(p) == 0
	case floatZero:
		return *(*uint64)(p)<<1 == 0
	}
	return *(*uint64)(p) == 0
}

func (fl field) req() field    { fl.required = true; return fl }
func (fl field) orNull() field { fl.nullable = true; return fl }
func (fl field) of(m *message) field {
	fl.sub = m
	return fl
}

// The message tables. The codec reaches a field through its offset: a table of
// offsets rather than a function per field keeps the struct being decoded on the
// caller's stack, and the guest, where every allocation and every call is dear, pays
// for neither.
var (
	errorMsg = &message{fields: []field{
		f("msg", kText, unsafe.Offsetof(Error{}.Message)).req(),
		f("kind", kText, unsafe.Offsetof(Error{}.Kind)).req(),
		f("retry", kBool, unsafe.Offsetof(Error{}.Retryable)),
	}, alloc: func() unsafe.Pointer { return unsafe.Pointer(new(Error)) }}

	requestMsg = &message{fields: []field{
		f("h", kUint32, unsafe.Offsetof(Request{}.Handle)),
		f("id", kText, unsafe.Offsetof(Request{}.ID)),
		f("op", kUint8, unsafe.Offsetof(Request{}.Op)).req(),
		f("err", kStruct, unsafe.Offsetof(Request{}.Err)).of(errorMsg).orNull(),
		f("key", kBytes, unsafe.Offsetof(Request{}.Key)),
		f("ttl", kInt64, unsafe.Offsetof(Request{}.TTL)),
		f("val", kValue, unsafe.Offsetof(Request{}.Value)),
		f("after", kBytes, unsafe.Offsetof(Request{}.After)),
		f("delta", kFloat, unsafe.Offsetof(Request{}.Delta)),
		f("ifver", kTextP, unsafe.Offsetof(Request{}.IfVersion)).orNull(),
		f("limit", kInt64, unsafe.Offsetof(Request{}.Limit)),
		f("absent", kBool, unsafe.Offsetof(Request{}.OnlyIfAbsent)),
		f("limits", kBool, unsafe.Offsetof(Request{}.Limits)),
		f("prefix", kBytes, unsafe.Offsetof(Request{}.Prefix)),
	}}

	taskMsg = &message{fields: []field{
		f("in", kValue, unsafe.Offsetof(Task{}.Input)),
		f("mem", kInt64, unsafe.Offsetof(Task{}.MemoryLimit)),
		f("res", kBool, unsafe.Offsetof(Task{}.Result)),
		f("src", kBytes, unsafe.Offsetof(Task{}.Source)).req(),
		f("args", kBytesList, unsafe.Offsetof(Task{}.Args)),
		f("name", kText, unsafe.Offsetof(Task{}.Name)).req(),
	}, alloc: func() unsafe.Pointer { return unsafe.Pointer(new(Task)) }}

	entryMsg = &message{fields: []field{
		f("key", kBytes, unsafe.Offsetof(Entry{}.Key)).req(),
		f("ttl", kInt64P, unsafe.Offsetof(Entry{}.TTL)),
		f("val", kValue, unsafe.Offsetof(Entry{}.Value)).req(),
		f("ver", kText, unsafe.Offsetof(Entry{}.Version)).req(),
	}, alloc: func() unsafe.Pointer { return unsafe.Pointer(new(Entry)) }}

	pageMsg = &message{fields: []field{
		f("more", kBool, unsafe.Offsetof(Page{}.More)).req(),
		f("items", kEntries, unsafe.Offsetof(Page{}.Items)).req(),
		f("cursor", kBytes, unsafe.Offsetof(Page{}.Cursor)).req(),
	}, alloc: func() unsafe.Pointer { return unsafe.Pointer(new(Page)) }}

	infoMsg = &message{fields: []field{
		f("id", kText, unsafe.Offsetof(Info{}.ID)).req(),
		f("ttl", kBool, unsafe.Offsetof(Info{}.TTL)).req(),
		f("list", kBool, unsafe.Offsetof(Info{}.List)).req(),
		f("backend", kText, unsafe.Offsetof(Info{}.Backend)).req(),
		f("durable", kBool, unsafe.Offsetof(Info{}.Durable)).req(),
		f("versioned", kBool, unsafe.Offsetof(Info{}.Versioned)).req(),
		f("consistency", kText, unsafe.Offsetof(Info{}.Consistency)).req(),
		f("conditional_put", kBool, unsafe.Offsetof(Info{}.ConditionalPut)).req(),
	}, alloc: func() unsafe.Pointer { return unsafe.Pointer(new(Info)) }}

	responseMsg = &message{fields: []field{
		f("h", kUint32, unsafe.Offsetof(Response{}.Handle)),
		f("ok", kBool, unsafe.Offsetof(Response{}.OK)),
		f("err", kStruct, unsafe.Offsetof(Response{}.Err)).of(errorMsg),
		f("val", kValue, unsafe.Offsetof(Response{}.Value)),
		f("info", kStruct, unsafe.Offsetof(Response{}.Info)).of(infoMsg),
		f("page", kStruct, unsafe.Offsetof(Response{}.Page)).of(pageMsg),
		f("task", kStruct, unsafe.Offsetof(Response{}.Task)).of(taskMsg),
		f("entry", kStruct, unsafe.Offsetof(Response{}.Entry)).of(entryMsg),
		f("maxval", kInt64, unsafe.Offsetof(Response{}.MaxValueBytes)),
	}}
)

// appendMessage encodes the struct at v as a map of its fields that are not empty
// (zero, nil or of length 0), and of its required fields.
func appendMessage(dst []byte, v unsafe.Pointer, m *message) []byte {
	start := len(dst)
	dst = append(dst, MajorMap) // fewer than 24 fields (see init): a one-byte head, set below
	n := 0
	for i := range m.fields {
		fl := &m.fields[i]
		if fl.empty(v) {
			continue
		}
		dst = fl.append(append(dst, fl.key...), unsafe.Add(v, fl.off))
		n++
	}
	dst[start] = MajorMap | byte(n)
	return dst
}

func init() {
	for _, m := range []*message{errorMsg, requestMsg, taskMsg, entryMsg, pageMsg, infoMsg, responseMsg} {
		if len(m.fields) >= 24 {
			panic("abi: a message with 24 fields or more needs a longer map head")
		}
	}
}

// append encodes the value of the field at p.
func (fl *field) append(dst []byte, p unsafe.Pointer) []byte {
	switch fl.kind {
	case kUint8:
		return AppendHead(dst, MajorUint, uint64(*(*uint8)(p)))
	case kUint32:
		return AppendHead(dst, MajorUint, uint64(*(*uint32)(p)))
	case kInt64:
		return AppendInt(dst, *(*int64)(p))
	case kInt64P:
		return AppendInt(dst, **(**int64)(p))
	case kBool:
		return AppendBool(dst, *(*bool)(p))
	case kFloat:
		return AppendFloat(dst, *(*float64)(p))
	case kText:
		return AppendText(dst, *(*string)(p))
	case kTextP:
		return AppendText(dst, **(**string)(p))
	case kBytes:
		return AppendBytes(dst, *(*[]byte)(p))
	case kValue:
		// Embedded unchecked: the host checks values with CheckValue before it stores
		// them, and refuses a request whose value is not one item. A required value
		// that is empty is written as null.
		if val := *(*[]byte)(p); len(val) > 0 {
			return append(dst, val...)
		}
		return append(dst, Null)
	case kBytesList:
		list := *(*[][]byte)(p)
		dst = AppendHead(dst, MajorArray, uint64(len(list)))
		for _, b := range list {
			dst = AppendBytes(dst, b)
		}
		return dst
	case kEntries:
		items := *(*[]Entry)(p)
		dst = AppendHead(dst, MajorArray, uint64(len(items)))
		for i := range items {
			dst = appendMessage(dst, unsafe.Pointer(&items[i]), entryMsg)
		}
		return dst
	}
	return appendMessage(dst, *(*unsafe.Pointer)(p), fl.sub) // kStruct
}

// fieldError is a failure inside a field's value, named by the field's path.
type fieldError struct {
	name string
	err  error
}

func (e *fieldError) Error() string { return e.name + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

var errUTF8 = errors.New("invalid UTF-8 in a text string")

// readMessage decodes a map at nesting level into the fields of the struct at v.
func (d *msgDecoder) readMessage(v unsafe.Pointer, m *message, level int) error {
	h, err := d.Head()
	if err != nil {
		return err
	}
	if h.Major != MajorMap {
		return typeError("map", h)
	}
	if err := d.Enter(h, level, MaxMessageDepth); err != nil {
		return err
	}
	var have uint32
	var unknown map[string]bool
	for range h.Arg {
		name, err := d.key()
		if err != nil {
			return err
		}
		i := 0
		for i < len(m.fields) && m.fields[i].name != string(name) {
			i++
		}
		switch {
		case i < len(m.fields) && have&(1<<i) != 0:
			return errors.New("duplicate map key " + strconv.Quote(string(name)))
		case i < len(m.fields):
			have |= 1 << i
			fl := &m.fields[i]
			if err := d.readField(unsafe.Add(v, fl.off), fl, level); err != nil {
				return &fieldError{fl.name, err}
			}
		case !utf8.Valid(name):
			return errUTF8
		case !d.lenient:
			return errors.New("unknown field " + strconv.Quote(string(name)))
		case unknown[string(name)]:
			return errors.New("duplicate map key " + strconv.Quote(string(name)))
		default:
			if unknown == nil {
				unknown = map[string]bool{}
			}
			unknown[string(name)] = true
			if err := d.Skip(level, MaxMessageDepth); err != nil {
				return err
			}
		}
	}
	for i := range m.fields {
		if m.fields[i].required && have&(1<<i) == 0 {
			return errors.New("missing field " + strconv.Quote(m.fields[i].name))
		}
	}
	return nil
}

// key reads a map key, which must be text. A short key, as every key of ours is, is
// read here rather than through Head and Body: keys are most of a message, and calls
// are dear in wasm.
func (d *msgDecoder) key() ([]byte, error) {
	if c, ok := d.Peek(); ok && c >= MajorText && c < MajorText+24 && int(c-MajorText) < d.Remaining() {
		start := d.off + 1
		d.off = start + int(c-MajorText)
		return d.b[start:d.off], nil
	}
	h, err := d.Head()
	if err != nil {
		return nil, err
	}
	if h.Major != MajorText {
		return nil, typeError("text string map key", h)
	}
	return d.Body(h.Arg)
}

// readField decodes the value of the field fl, in a map at level, into p.
func (d *msgDecoder) readField(p unsafe.Pointer, fl *field, level int) error {
	if fl.nullable && d.null() {
		*(*unsafe.Pointer)(p) = nil
		return nil
	}
	var err error
	switch fl.kind {
	case kUint8:
		var n uint64
		n, err = d.uint(math.MaxUint8)
		*(*uint8)(p) = uint8(n)
	case kUint32:
		var n uint64
		n, err = d.uint(math.MaxUint32)
		*(*uint32)(p) = uint32(n)
	case kInt64:
		*(*int64)(p), err = d.int()
	case kInt64P:
		n := new(int64)
		*n, err = d.int()
		*(**int64)(p) = n
	case kBool:
		*(*bool)(p), err = d.bool()
	case kFloat:
		*(*float64)(p), err = d.number()
	case kText:
		*(*string)(p), err = d.text()
	case kTextP:
		s := new(string)
		*s, err = d.text()
		*(**string)(p) = s
	case kBytes:
		*(*[]byte)(p), err = d.string(MajorBytes, "byte string")
	case kValue:
		*(*[]byte)(p), err = d.Raw(level, MaxMessageDepth)
	case kBytesList:
		var list [][]byte
		if list, err = makeArray[[]byte](d, level); err == nil {
			for i := range list {
				if list[i], err = d.string(MajorBytes, "byte string"); err != nil {
					break
				}
			}
		}
		*(*[][]byte)(p) = list
	case kEntries:
		var items []Entry
		if items, err = makeArray[Entry](d, level); err == nil {
			for i := range items {
				if err = d.readMessage(unsafe.Pointer(&items[i]), entryMsg, level+2); err != nil {
					break
				}
			}
		}
		*(*[]Entry)(p) = items
	case kStruct:
		s := fl.sub.alloc()
		*(*unsafe.Pointer)(p) = s
		err = d.readMessage(s, fl.sub, level+1)
	}
	return err
}

// makeArray reads the head of an array at level+1 and makes room for its elements.
func makeArray[E any](d *msgDecoder, level int) ([]E, error) {
	h, err := d.Head()
	if err != nil {
		return nil, err
	}
	if h.Major != MajorArray {
		return nil, typeError("array", h)
	}
	if err := d.Enter(h, level+1, MaxMessageDepth); err != nil {
		return nil, err
	}
	return make([]E, h.Arg), nil // bounded by the input's length through Enter
}

// typeError is an item of another type than the field's.
func typeError(want string, h Head) error {
	return errors.New(want + " expected, got " + typeName(h))
}

func typeName(h Head) string {
	switch h.Major {
	case MajorUint:
		return "unsigned integer"
	case MajorNeg:
		return "negative integer"
	case MajorBytes:
		return "byte string"
	case MajorText:
		return "text string"
	case MajorArray:
		return "array"
	case MajorMap:
		return "map"
	}
	switch {
	case h.Info == 20 || h.Info == 21:
		return "bool"
	case h.Info == 22 || h.Info == 23:
		return "null"
	case h.IsFloat():
		return "float"
	}
	return "simple value " + strconv.FormatUint(h.Arg, 10)
}

// null steps over a null or undefined and reports whether it did.
func (d *msgDecoder) null() bool {
	if c, ok := d.Peek(); ok && (c == Null || c == Undefined) {
		d.off++
		return true
	}
	return false
}

func (d *msgDecoder) uint(max uint64) (uint64, error) {
	h, err := d.Head()
	if err != nil {
		return 0, err
	}
	if h.Major != MajorUint {
		return 0, typeError("unsigned integer", h)
	}
	if h.Arg > max {
		return 0, errors.New(strconv.FormatUint(h.Arg, 10) + " is larger than " + strconv.FormatUint(max, 10))
	}
	return h.Arg, nil
}

func (d *msgDecoder) int() (int64, error) {
	h, err := d.Head()
	if err != nil {
		return 0, err
	}
	if h.Major != MajorUint && h.Major != MajorNeg {
		return 0, typeError("integer", h)
	}
	if h.Arg > math.MaxInt64 {
		return 0, errors.New("integer beyond 64 bits")
	}
	if h.Major == MajorNeg {
		return ^int64(h.Arg), nil
	}
	return int64(h.Arg), nil
}

func (d *msgDecoder) bool() (bool, error) {
	h, err := d.Head()
	if err == nil && (h.Major != MajorSimple || (h.Info != 20 && h.Info != 21)) {
		err = typeError("bool", h)
	}
	return h.Info == 21, err
}

func (d *msgDecoder) number() (float64, error) {
	h, err := d.Head()
	if err != nil {
		return 0, err
	}
	f, ok := h.Number()
	if !ok {
		return 0, typeError("number", h)
	}
	return f, nil
}

func (d *msgDecoder) string(major byte, want string) ([]byte, error) {
	h, err := d.Head()
	if err != nil {
		return nil, err
	}
	if h.Major != major {
		return nil, typeError(want, h)
	}
	return d.Body(h.Arg)
}

// internedNames are the texts a decoded message holds most.
var internedNames = [...]string{string(NotFound), string(Invalid), string(PermissionDenied), string(AlreadyExists),
	string(Conflict), string(Unavailable), string(Timeout), string(Internal), string(Canceled), string(RateLimited),
	string(Unknown), BackendMemory, BackendRedis, BackendSQL, ConsistencyLinearizable, ConsistencyEventual,
	ConsistencyLocal, UnknownName}

// text reads a text string. A known kind, backend or consistency is its constant, so
// that the common errors and infos allocate no string for it.
func (d *msgDecoder) text() (string, error) {
	s, err := d.string(MajorText, "text string")
	if err != nil {
		return "", err
	}
	for _, n := range internedNames {
		if n == string(s) {
			return n, nil
		}
	}
	if !utf8.Valid(s) {
		return "", errUTF8
	}
	return string(s), nil
}

// AppendRequest appends the encoding of r to dst and returns the extended slice. It
// allocates nothing beyond growing dst, so a caller that passes the previous result
// back as dst[:0] encodes without allocating. r.Value is embedded as is, unchecked.
func AppendRequest(dst []byte, r *Request) []byte {
	return appendMessage(dst, unsafe.Pointer(r), requestMsg)
}

// AppendResponse appends the encoding of r to dst and returns the extended slice.
func AppendResponse(dst []byte, r *Response) []byte {
	return appendMessage(dst, unsafe.Pointer(r), responseMsg)
}

// DecodeRequest decodes exactly one request from b into r, which it overwrites. Every
// failure is a *[DecodeError]. Byte slices of r (Key, Value, Prefix, After) alias b;
// strings are copies.
func DecodeRequest(b []byte, r *Request) error {
	*r = Request{}
	d := msgDecoder{Decoder: Decoder{b: b}}
	if err := d.readMessage(unsafe.Pointer(r), requestMsg, 1); err != nil {
		return d.fail("request", err)
	}
	return d.end("request")
}

// DecodeResponse decodes exactly one response from b into r, which it overwrites,
// skipping keys it does not know. Every failure is a *[DecodeError]. Byte slices of r
// (Value, the Entry's, the Page's, the Task's) alias b, with their capacity cut at their
// end, so appending to one never writes into b; strings are copies.
func DecodeResponse(b []byte, r *Response) error {
	*r = Response{}
	d := msgDecoder{Decoder: Decoder{b: b}, lenient: true}
	if err := d.readMessage(unsafe.Pointer(r), responseMsg, 1); err != nil {
		return d.fail("response", err)
	}
	return d.end("response")
}

// EncodeNumber encodes f by the number rule (see [AppendNumber]).
func EncodeNumber(f float64) []byte { return AppendNumber(nil, f) }

// DecodeNumber returns the number a stored value holds: an integer within 64 bits or a
// float of any width, and nothing after it. ok is false for any other value.
func DecodeNumber(b []byte) (f float64, ok bool) {
	d := Decoder{b: b}
	h, err := d.Head()
	if err != nil || d.Remaining() != 0 {
		return 0, false
	}
	return h.Number()
}
