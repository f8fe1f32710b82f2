package luacbor

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
)

// encoder is the state of one Encode call. The path bookkeeping lives in fixed-size
// arrays so that the encoder stays on the Go stack: a successful Encode allocates nothing
// but the growth of dst. The path string itself is only built when a value is refused.
type encoder struct {
	buf []byte
	// n is the number of tables on the current path; tables[:n] are those tables,
	// outermost first, and serve cycle detection (n <= MaxDepth, so a linear scan is
	// cheaper than any map).
	n      int
	tables [MaxDepth]*lua.LTable
	// keys[i] is the key under which the next path element sits in tables[i]. It is nil
	// while walking an array, where idx[i] holds the index instead: boxing each index
	// into an lua.LValue would allocate once per element.
	keys [MaxDepth]lua.LValue
	idx  [MaxDepth]int
	// padding counts the nil slots Decode will add for sparse integer keys, in the same
	// key order and by the same rule, so that a value Decode would refuse is refused here,
	// at set time, instead of becoming unreadable.
	padding int
	// start is where the value begins in buf, and limit the most bytes it may take
	// (0: no limit). The size is checked as the value grows, so a value whose encoding
	// is huge (a table that holds one subtable twice, twenty levels deep, encodes 2^20
	// leaves) is refused after at most limit bytes of work.
	start, limit int
}

// Encode appends the CBOR encoding of v to dst and returns the extended slice.
// A value that cannot be stored gives a *ValueError and dst unextended.
func Encode(dst []byte, v lua.LValue) ([]byte, error) { return EncodeLimit(dst, v, 0) }

// EncodeLimit is Encode for a value that may take at most limit bytes (0: no limit): a
// larger one gives a *ValueError as soon as the encoding passes the limit.
func EncodeLimit(dst []byte, v lua.LValue, limit int) ([]byte, error) {
	e := encoder{buf: dst, start: len(dst), limit: limit}
	if err := e.value(v); err != nil {
		return dst, err
	}
	if e.over(0) {
		return dst, e.tooLarge()
	}
	return e.buf, nil
}

// over reports whether the value would pass its limit with extra more bytes.
func (e *encoder) over(extra int) bool {
	return e.limit > 0 && len(e.buf)-e.start+extra > e.limit
}

func (e *encoder) tooLarge() error {
	return &ValueError{Path: "value", Reason: "encoded value is larger than max_value_bytes " + strconv.Itoa(e.limit)}
}

func (e *encoder) value(v lua.LValue) error {
	if e.over(0) {
		return e.tooLarge()
	}
	switch v := v.(type) {
	case lua.LString:
		if e.over(len(v)) {
			return e.tooLarge()
		}
		e.str(string(v))
	case lua.LNumber:
		e.number(float64(v))
	case lua.LBool:
		e.buf = abi.AppendBool(e.buf, bool(v))
	case *lua.LTable:
		return e.table(v)
	case *lua.LNilType, nil:
		e.buf = append(e.buf, abi.Null)
	default:
		return e.fail(e.n, v.Type().String()+" is not storable")
	}
	return nil
}

// number writes f by abi's number rule, the one the host's incr follows too.
func (e *encoder) number(f float64) { e.buf = abi.AppendNumber(e.buf, f) }

func (e *encoder) str(s string) {
	// Lua strings are byte strings; only valid UTF-8 may be a CBOR text string, and
	// Go readers get a string for those and []byte for the rest.
	if utf8.ValidString(s) {
		e.head(abi.MajorText, uint64(len(s)))
	} else {
		e.head(abi.MajorBytes, uint64(len(s)))
	}
	e.buf = append(e.buf, s...)
}

func (e *encoder) head(major byte, n uint64) {
	e.buf = abi.AppendHead(e.buf, major, n)
}

func (e *encoder) table(t *lua.LTable) error {
	if e.n == MaxDepth {
		return e.fail(e.n, "nesting deeper than "+strconv.Itoa(MaxDepth)+" levels")
	}
	for _, p := range e.tables[:e.n] {
		if p == t {
			return e.fail(e.n, "cyclic table")
		}
	}
	e.tables[e.n] = t
	e.n++
	var err error
	if n := arrayLen(t); n > 0 {
		err = e.array(t, n)
	} else {
		err = e.mapping(t)
	}
	e.n--
	e.tables[e.n] = nil
	e.keys[e.n] = nil
	return err
}

// arrayLen returns n if the keys of t are exactly 1..n, and 0 otherwise. gopher-lua
// keeps every integer key in [1, lua.MaxArrayIndex) in the table's array part, so the
// keys are 1..n exactly when that part has no hole up to MaxN and nothing follows it.
func arrayLen(t *lua.LTable) int {
	n := t.MaxN()
	if n == 0 {
		return 0
	}
	for i := 1; i <= n; i++ {
		if isNil(t.RawGetInt(i)) {
			return 0
		}
	}
	if k, _ := t.Next(lua.LNumber(n)); !isNil(k) {
		return 0
	}
	return n
}

func isNil(v lua.LValue) bool { return v == nil || v == lua.LNil }

func (e *encoder) array(t *lua.LTable, n int) error {
	e.head(abi.MajorArray, uint64(n))
	slot := e.n - 1
	e.keys[slot] = nil
	for i := 1; i <= n; i++ {
		e.idx[slot] = i
		if err := e.value(t.RawGetInt(i)); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) mapping(t *lua.LTable) error {
	// The pair count is only known after the walk. Rather than walk twice (each Next
	// step is a hash lookup), reserve the one-byte head that fits most maps and shift
	// the pairs in the rare case a longer head is needed.
	start := len(e.buf)
	e.buf = append(e.buf, abi.MajorMap)
	slot := e.n - 1
	count := 0
	alen := 0 // the array length Decode will have reached, as in decoder.mapping
	for k, v := t.Next(lua.LNil); !isNil(k); k, v = t.Next(k) {
		switch kk := k.(type) {
		case lua.LString:
			e.str(string(kk))
		case lua.LNumber:
			if math.IsNaN(float64(kk)) {
				// Unreachable today: Lua raises "table index is NaN", and a NaN key set
				// from Go is invisible to Next. Kept so a change there cannot put a key on
				// the wire that Decode refuses.
				return e.fail(slot, "table key NaN is not storable")
			}
			if f := float64(kk); f == math.Trunc(f) && f > float64(alen) && f < float64(lua.MaxArrayIndex) {
				if pad := int(f) - alen - 1; pad > 0 {
					if e.padding += pad; e.padding > maxPadding {
						return e.fail(slot, "integer keys too sparse: over "+strconv.Itoa(maxPadding)+" holes")
					}
				}
				alen = int(f)
			}
			e.number(float64(kk))
		default:
			return e.fail(slot, "table key of type "+k.Type().String()+" is not storable")
		}
		e.keys[slot] = k
		if err := e.value(v); err != nil {
			return err
		}
		count++
	}
	if count < 24 {
		e.buf[start] = abi.MajorMap | byte(count)
		return nil
	}
	var h [9]byte
	head := abi.AppendHead(h[:0], abi.MajorMap, uint64(count))
	end := len(e.buf)
	e.buf = append(e.buf, head[1:]...) // room for the longer head
	copy(e.buf[start+len(head):], e.buf[start+1:end])
	copy(e.buf[start:], head)
	return nil
}

// fail returns a ValueError for the element at depth n of the current path:
// "value" followed by the first n path keys.
func (e *encoder) fail(n int, reason string) error {
	var b strings.Builder
	b.WriteString("value")
	for i := range n {
		if e.keys[i] == nil {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.idx[i]))
			b.WriteByte(']')
			continue
		}
		writeKey(&b, e.keys[i])
	}
	return &ValueError{Path: b.String(), Reason: reason}
}

// writeKey writes one path step the way a Lua programmer would index the table.
func writeKey(b *strings.Builder, k lua.LValue) {
	if s, ok := k.(lua.LString); ok && isIdent(string(s)) {
		b.WriteByte('.')
		b.WriteString(string(s))
		return
	}
	b.WriteByte('[')
	switch k := k.(type) {
	case lua.LString:
		writeQuoted(b, string(k))
	case lua.LNumber:
		// As gopher-lua's tostring prints it, but without its float-to-int64 conversion,
		// whose result for keys beyond ±2^63 differs between amd64 and wasm.
		if f := float64(k); f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			b.WriteString(strconv.FormatInt(int64(f), 10))
		} else {
			b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		}
	default:
		b.WriteString(k.String())
	}
	b.WriteByte(']')
}

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true,
	"false": true, "for": true, "function": true, "if": true, "in": true, "local": true,
	"nil": true, "not": true, "or": true, "repeat": true, "return": true, "then": true,
	"true": true, "until": true, "while": true,
}

// isIdent reports whether s can follow a dot in Lua: value.end would not parse.
func isIdent(s string) bool {
	if s == "" || luaKeywords[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// writeQuoted writes s as a Lua string literal. Keys are binary-safe, so bytes that are
// not printable UTF-8 use Lua's decimal escape, which Lua 5.1 (unlike \x) understands.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError && size == 1, !unicode.IsPrint(r):
			// Always three digits, so a digit that follows is not read into the escape.
			for j := i; j < i+size; j++ {
				c := s[j]
				b.Write([]byte{'\\', '0' + c/100, '0' + c/10%10, '0' + c%10})
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}
