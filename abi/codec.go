package abi

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
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

// field is one key of a message map.
type field[T any] struct {
	name string
	// required fields make decoding fail when absent; encoding always writes them.
	required bool
	// empty reports a field that encoding leaves out; nil for a field always written.
	empty func(*T) bool
	write func(dst []byte, v *T) []byte
	// read decodes the field's value into v; level is that of the enclosing map.
	read func(d *msgDecoder, v *T, level int) error
}

// msgDecoder decodes one message; lenient is true for responses.
type msgDecoder struct {
	Decoder
	lenient bool
}

// appendMap encodes v as a map of its fields that are not empty.
func appendMap[T any](dst []byte, v *T, fields []field[T]) []byte {
	var skip uint32
	n := 0
	for i := range fields {
		if fields[i].empty != nil && fields[i].empty(v) {
			skip |= 1 << i
		} else {
			n++
		}
	}
	dst = AppendHead(dst, MajorMap, uint64(n))
	for i := range fields {
		if skip&(1<<i) == 0 {
			dst = fields[i].write(AppendText(dst, fields[i].name), v)
		}
	}
	return dst
}

// fieldError is a failure inside a field's value, named by the field's path.
type fieldError struct {
	name string
	err  error
}

func (e *fieldError) Error() string { return e.name + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

var errUTF8 = errors.New("invalid UTF-8 in a text string")

// readMap decodes a map at nesting level into v's fields.
func readMap[T any](d *msgDecoder, v *T, fields []field[T], level int) error {
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
		kh, err := d.Head()
		if err != nil {
			return err
		}
		if kh.Major != MajorText {
			return typeError("text string map key", kh)
		}
		name, err := d.Body(kh.Arg)
		if err != nil {
			return err
		}
		i := 0
		for i < len(fields) && fields[i].name != string(name) {
			i++
		}
		switch {
		case i < len(fields) && have&(1<<i) != 0:
			return errors.New("duplicate map key " + strconv.Quote(string(name)))
		case i < len(fields):
			have |= 1 << i
			if err := fields[i].read(d, v, level); err != nil {
				return &fieldError{fields[i].name, err}
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
	for i := range fields {
		if fields[i].required && have&(1<<i) == 0 {
			return errors.New("missing field " + strconv.Quote(fields[i].name))
		}
	}
	return nil
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

func (d *msgDecoder) text() (string, error) {
	s, err := d.string(MajorText, "text string")
	if err != nil {
		return "", err
	}
	if !utf8.Valid(s) {
		return "", errUTF8
	}
	return string(s), nil
}

// The field constructors. get returns a pointer to the field's Go value; a field is
// empty when that value is the zero value, unless always is set.

func uintField[T any, N ~uint8 | ~uint32](name string, max uint64, required bool, get func(*T) *N) field[T] {
	f := field[T]{name: name, required: required,
		write: func(dst []byte, v *T) []byte { return AppendHead(dst, MajorUint, uint64(*get(v))) },
		read: func(d *msgDecoder, v *T, _ int) error {
			n, err := d.uint(max)
			*get(v) = N(n)
			return err
		}}
	if !required {
		f.empty = func(v *T) bool { return *get(v) == 0 }
	}
	return f
}

func intField[T any](name string, get func(*T) *int64) field[T] {
	return field[T]{name: name,
		empty: func(v *T) bool { return *get(v) == 0 },
		write: func(dst []byte, v *T) []byte { return AppendInt(dst, *get(v)) },
		read: func(d *msgDecoder, v *T, _ int) (err error) {
			*get(v), err = d.int()
			return err
		}}
}

// ptrField is a field that may be absent, and so is a pointer, whatever its value
// (Entry.TTL, ifver); nullable is set where the CDDL allows null for absent.
func ptrField[T, P any](name string, nullable bool, get func(*T) **P,
	write func([]byte, P) []byte, read func(*msgDecoder) (P, error)) field[T] {
	return field[T]{name: name,
		empty: func(v *T) bool { return *get(v) == nil },
		write: func(dst []byte, v *T) []byte { return write(dst, **get(v)) },
		read: func(d *msgDecoder, v *T, _ int) error {
			if nullable && d.null() {
				*get(v) = nil
				return nil
			}
			p, err := read(d)
			*get(v) = &p
			return err
		}}
}

func boolField[T any](name string, required bool, get func(*T) *bool) field[T] {
	f := field[T]{name: name, required: required,
		write: func(dst []byte, v *T) []byte { return AppendBool(dst, *get(v)) },
		read: func(d *msgDecoder, v *T, _ int) error {
			h, err := d.Head()
			if err == nil && (h.Major != MajorSimple || (h.Info != 20 && h.Info != 21)) {
				err = typeError("bool", h)
			}
			*get(v) = h.Info == 21
			return err
		}}
	if !required {
		f.empty = func(v *T) bool { return !*get(v) }
	}
	return f
}

func floatField[T any](name string, get func(*T) *float64) field[T] {
	return field[T]{name: name,
		// -0 counts as zero; NaN does not.
		empty: func(v *T) bool { return *get(v) == 0 },
		write: func(dst []byte, v *T) []byte { return AppendFloat(dst, *get(v)) },
		read: func(d *msgDecoder, v *T, _ int) error {
			h, err := d.Head()
			if err != nil {
				return err
			}
			f, ok := h.Number()
			if !ok {
				return typeError("number", h)
			}
			*get(v) = f
			return nil
		}}
}

func textField[T any, S ~string](name string, required bool, get func(*T) *S) field[T] {
	f := field[T]{name: name, required: required,
		write: func(dst []byte, v *T) []byte { return AppendText(dst, string(*get(v))) },
		read: func(d *msgDecoder, v *T, _ int) error {
			s, err := d.text()
			*get(v) = S(s)
			return err
		}}
	if !required {
		f.empty = func(v *T) bool { return *get(v) == "" }
	}
	return f
}

// bytesField is a byte string; the decoded slice aliases the input.
func bytesField[T any](name string, required bool, get func(*T) *[]byte) field[T] {
	f := field[T]{name: name, required: required,
		write: func(dst []byte, v *T) []byte { return AppendBytes(dst, *get(v)) },
		read: func(d *msgDecoder, v *T, _ int) (err error) {
			*get(v), err = d.string(MajorBytes, "byte string")
			return err
		}}
	if !required {
		f.empty = func(v *T) bool { return len(*get(v)) == 0 }
	}
	return f
}

// valueField is a stored value, one item embedded as is; the decoded slice aliases the
// input. Encoding does not check it (the host checks values with CheckValue before it
// stores them, and a request the guest got wrong is refused by the host's decoder); a
// required value that is empty is written as null.
func valueField[T any](name string, required bool, get func(*T) *[]byte) field[T] {
	f := field[T]{name: name, required: required,
		write: func(dst []byte, v *T) []byte {
			if val := *get(v); len(val) > 0 {
				return append(dst, val...)
			}
			return append(dst, Null)
		},
		read: func(d *msgDecoder, v *T, level int) (err error) {
			*get(v), err = d.Raw(level, MaxMessageDepth)
			return err
		}}
	if !required {
		f.empty = func(v *T) bool { return len(*get(v)) == 0 }
	}
	return f
}

// structField is a nested message (err, task, entry, page, info); nullable is set where
// the CDDL allows null for absent.
func structField[T, S any](name string, nullable bool, fields []field[S], get func(*T) **S) field[T] {
	return field[T]{name: name,
		empty: func(v *T) bool { return *get(v) == nil },
		write: func(dst []byte, v *T) []byte { return appendMap(dst, *get(v), fields) },
		read: func(d *msgDecoder, v *T, level int) error {
			if nullable && d.null() {
				*get(v) = nil
				return nil
			}
			s := new(S)
			*get(v) = s
			return readMap(d, s, fields, level+1)
		}}
}

// arrayField is an array whose elements each encode and decode by elem.
func arrayField[T, E any](name string, required bool, get func(*T) *[]E,
	write func([]byte, *E) []byte, read func(*msgDecoder, *E, int) error) field[T] {
	f := field[T]{name: name, required: required,
		write: func(dst []byte, v *T) []byte {
			s := *get(v)
			dst = AppendHead(dst, MajorArray, uint64(len(s)))
			for i := range s {
				dst = write(dst, &s[i])
			}
			return dst
		},
		read: func(d *msgDecoder, v *T, level int) error {
			h, err := d.Head()
			if err != nil {
				return err
			}
			if h.Major != MajorArray {
				return typeError("array", h)
			}
			if err := d.Enter(h, level+1, MaxMessageDepth); err != nil {
				return err
			}
			s := make([]E, h.Arg) // bounded by the input's length through Enter
			for i := range s {
				if err := read(d, &s[i], level+1); err != nil {
					return err
				}
			}
			*get(v) = s
			return nil
		}}
	if !required {
		f.empty = func(v *T) bool { return len(*get(v)) == 0 }
	}
	return f
}

// The message tables, each in the order of its encoded keys.

var errorFields = []field[Error]{
	textField("msg", true, func(e *Error) *string { return &e.Message }),
	{name: "kind", required: true,
		write: func(dst []byte, e *Error) []byte { return AppendText(dst, string(e.Kind)) },
		// A known kind is its constant, so that the common errors allocate no kind.
		read: func(d *msgDecoder, e *Error, _ int) error {
			s, err := d.string(MajorText, "text string")
			if err != nil {
				return err
			}
			for _, n := range kindNames {
				if string(n.Kind) == string(s) {
					e.Kind = n.Kind
					return nil
				}
			}
			if !utf8.Valid(s) {
				return errUTF8
			}
			e.Kind = Kind(s)
			return nil
		}},
	boolField("retry", false, func(e *Error) *bool { return &e.Retryable }),
}

var requestFields = []field[Request]{
	uintField("h", math.MaxUint32, false, func(r *Request) *uint32 { return &r.Handle }),
	textField("id", false, func(r *Request) *string { return &r.ID }),
	uintField("op", math.MaxUint8, true, func(r *Request) *Op { return &r.Op }),
	structField("err", true, errorFields, func(r *Request) **Error { return &r.Err }),
	bytesField("key", false, func(r *Request) *[]byte { return &r.Key }),
	intField("ttl", func(r *Request) *int64 { return &r.TTL }),
	valueField("val", false, func(r *Request) *[]byte { return &r.Value }),
	bytesField("after", false, func(r *Request) *[]byte { return &r.After }),
	floatField("delta", func(r *Request) *float64 { return &r.Delta }),
	ptrField("ifver", true, func(r *Request) **string { return &r.IfVersion }, AppendText, (*msgDecoder).text),
	intField("limit", func(r *Request) *int64 { return &r.Limit }),
	boolField("absent", false, func(r *Request) *bool { return &r.OnlyIfAbsent }),
	bytesField("prefix", false, func(r *Request) *[]byte { return &r.Prefix }),
}

var taskFields = []field[Task]{
	intField("mem", func(t *Task) *int64 { return &t.MemoryLimit }),
	bytesField("src", true, func(t *Task) *[]byte { return &t.Source }),
	arrayField("args", false, func(t *Task) *[][]byte { return &t.Args },
		func(dst []byte, a *[]byte) []byte { return AppendBytes(dst, *a) },
		func(d *msgDecoder, a *[]byte, _ int) (err error) {
			*a, err = d.string(MajorBytes, "byte string")
			return err
		}),
	textField("name", true, func(t *Task) *string { return &t.Name }),
}

var entryFields = []field[Entry]{
	bytesField("key", true, func(e *Entry) *[]byte { return &e.Key }),
	ptrField("ttl", false, func(e *Entry) **int64 { return &e.TTL }, AppendInt, (*msgDecoder).int),
	valueField("val", true, func(e *Entry) *[]byte { return &e.Value }),
	textField("ver", true, func(e *Entry) *string { return &e.Version }),
}

var pageFields = []field[Page]{
	boolField("more", true, func(p *Page) *bool { return &p.More }),
	arrayField("items", true, func(p *Page) *[]Entry { return &p.Items },
		func(dst []byte, e *Entry) []byte { return appendMap(dst, e, entryFields) },
		func(d *msgDecoder, e *Entry, level int) error { return readMap(d, e, entryFields, level+1) }),
	bytesField("cursor", true, func(p *Page) *[]byte { return &p.Cursor }),
}

var infoFields = []field[Info]{
	textField("id", true, func(i *Info) *string { return &i.ID }),
	boolField("ttl", true, func(i *Info) *bool { return &i.TTL }),
	boolField("list", true, func(i *Info) *bool { return &i.List }),
	textField("backend", true, func(i *Info) *string { return &i.Backend }),
	boolField("durable", true, func(i *Info) *bool { return &i.Durable }),
	boolField("versioned", true, func(i *Info) *bool { return &i.Versioned }),
	textField("consistency", true, func(i *Info) *string { return &i.Consistency }),
	boolField("conditional_put", true, func(i *Info) *bool { return &i.ConditionalPut }),
}

var responseFields = []field[Response]{
	uintField("h", math.MaxUint32, false, func(r *Response) *uint32 { return &r.Handle }),
	boolField("ok", false, func(r *Response) *bool { return &r.OK }),
	structField("err", false, errorFields, func(r *Response) **Error { return &r.Err }),
	valueField("val", false, func(r *Response) *[]byte { return &r.Value }),
	structField("info", false, infoFields, func(r *Response) **Info { return &r.Info }),
	structField("page", false, pageFields, func(r *Response) **Page { return &r.Page }),
	structField("task", false, taskFields, func(r *Response) **Task { return &r.Task }),
	structField("entry", false, entryFields, func(r *Response) **Entry { return &r.Entry }),
}

// AppendRequest appends the encoding of r to dst and returns the extended slice. It
// allocates nothing beyond growing dst, so a caller that passes the previous result
// back as dst[:0] encodes without allocating. r.Value is embedded as is, unchecked.
func AppendRequest(dst []byte, r *Request) []byte { return appendMap(dst, r, requestFields) }

// AppendResponse appends the encoding of r to dst and returns the extended slice.
func AppendResponse(dst []byte, r *Response) []byte { return appendMap(dst, r, responseFields) }

// DecodeRequest decodes exactly one request from b into r, which it overwrites. Every
// failure is a *[DecodeError]. Byte slices of r (Key, Value, Prefix, After) alias b;
// strings are copies.
func DecodeRequest(b []byte, r *Request) error {
	*r = Request{}
	d := msgDecoder{Decoder: Decoder{b: b}}
	if err := readMap(&d, r, requestFields, 1); err != nil {
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
	if err := readMap(&d, r, responseFields, 1); err != nil {
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
