package lualib

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/luacbor"
)

// The json module: json.encode(v) returns a string, or nil and an Invalid error;
// json.decode(s) returns a value, or nil and an Invalid error.
//
// A value is encodable by the store's rules (luacbor: no functions or cycles, depth at
// most 32, a table whose keys are 1..n is an array, the empty table an object), plus
// what JSON itself needs: strings must be valid UTF-8, numbers finite, and number keys
// are written as strings. Encoding goes through luacbor, so the two rule sets cannot
// drift: a value encodes to JSON exactly when the store would take it, except for those
// three. Decoding is strict RFC 8259: one value, no trailing data, no comments, no
// duplicate keys (RFC 8259's "SHOULD be unique", which I-JSON makes a MUST), valid UTF-8
// and no lone surrogates, depth at most 32, integers within ±2^53 so that none is
// silently rounded. null is nil: a null member is left out, a null array element is a
// hole.

// maxJSONBytes bounds what json.encode produces and json.decode accepts: the ABI's
// request limit, the most any one value could travel in.
const maxJSONBytes = abi.MaxRequestBytes

func openJSON(L *lua.LState) int {
	mod := L.CreateTable(0, 2)
	mod.RawSetString("encode", L.NewFunction(jsonEncode))
	mod.RawSetString("decode", L.NewFunction(jsonDecode))
	L.Push(mod)
	return 1
}

func jsonFailure(L *lua.LState, msg string) int {
	return pushFailure(L, lua.LNil, abi.NewError(abi.Invalid, msg))
}

func jsonEncode(L *lua.LState) int {
	v := L.Get(1)
	c, err := luacbor.Encode(nil, v)
	if err != nil {
		return jsonFailure(L, "json.encode: "+err.Error())
	}
	t := transcoder{b: c, path: []string{"value"}}
	var out strings.Builder
	if err := t.value(&out); err != nil {
		return jsonFailure(L, "json.encode: "+err.Error())
	}
	if out.Len() > maxJSONBytes {
		return jsonFailure(L, fmt.Sprintf("json.encode: result larger than %d bytes", maxJSONBytes))
	}
	L.Push(lua.LString(out.String()))
	return 1
}

// transcoder writes JSON from CBOR that luacbor.Encode made: well-formed, definite
// lengths, no tags, so it needs no defensive checks beyond what JSON refuses.
type transcoder struct {
	b    []byte
	off  int
	path []string
}

func (t *transcoder) fail(reason string) error {
	return fmt.Errorf("%s: %s", strings.Join(t.path, ""), reason)
}

func (t *transcoder) head() (major, ai byte, arg uint64) {
	ib := t.b[t.off]
	t.off++
	major, ai = ib>>5, ib&31
	switch {
	case ai < 24:
		arg = uint64(ai)
	case ai == 24:
		arg = uint64(t.b[t.off])
		t.off++
	case ai == 25:
		arg = uint64(binary.BigEndian.Uint16(t.b[t.off:]))
		t.off += 2
	case ai == 26:
		arg = uint64(binary.BigEndian.Uint32(t.b[t.off:]))
		t.off += 4
	case ai == 27:
		arg = binary.BigEndian.Uint64(t.b[t.off:])
		t.off += 8
	}
	return major, ai, arg
}

func (t *transcoder) value(w *strings.Builder) error {
	if w.Len() > maxJSONBytes {
		return fmt.Errorf("result larger than %d bytes", maxJSONBytes)
	}
	major, ai, arg := t.head()
	switch major {
	case 0:
		w.WriteString(strconv.FormatUint(arg, 10))
	case 1:
		w.WriteString("-" + strconv.FormatUint(arg+1, 10))
	case 2:
		return t.fail("string is not valid UTF-8, which JSON cannot carry")
	case 3:
		writeJSONString(w, string(t.b[t.off:t.off+int(arg)]))
		t.off += int(arg)
	case 4:
		w.WriteByte('[')
		for i := uint64(0); i < arg; i++ {
			if i > 0 {
				w.WriteByte(',')
			}
			t.path = append(t.path, "["+strconv.FormatUint(i+1, 10)+"]")
			if err := t.value(w); err != nil {
				return err
			}
			t.path = t.path[:len(t.path)-1]
		}
		w.WriteByte(']')
	case 5:
		w.WriteByte('{')
		for i := uint64(0); i < arg; i++ {
			if i > 0 {
				w.WriteByte(',')
			}
			key, err := t.key()
			if err != nil {
				return err
			}
			writeJSONString(w, key)
			w.WriteByte(':')
			t.path = append(t.path, "["+strconv.Quote(key)+"]")
			if err := t.value(w); err != nil {
				return err
			}
			t.path = t.path[:len(t.path)-1]
		}
		w.WriteByte('}')
	case 7:
		switch ai {
		case 20:
			w.WriteString("false")
		case 21:
			w.WriteString("true")
		case 22:
			w.WriteString("null")
		case 25, 26, 27:
			f := cborFloat(ai, arg)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return t.fail("NaN and infinities have no JSON form")
			}
			w.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		default:
			return t.fail("unexpected simple value")
		}
	default:
		return t.fail("unexpected CBOR")
	}
	return nil
}

// key reads a map key: a string, or a number written in its Lua string form.
func (t *transcoder) key() (string, error) {
	major, ai, arg := t.head()
	switch major {
	case 3:
		s := string(t.b[t.off : t.off+int(arg)])
		t.off += int(arg)
		return s, nil
	case 2:
		return "", t.fail("a key is not valid UTF-8, which JSON cannot carry")
	case 0:
		return strconv.FormatUint(arg, 10), nil
	case 1:
		return "-" + strconv.FormatUint(arg+1, 10), nil
	case 7:
		f := cborFloat(ai, arg)
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			return lua.LNumber(f).String(), nil
		}
	}
	return "", t.fail("a key has no JSON form")
}

func cborFloat(ai byte, arg uint64) float64 {
	switch ai {
	case 25:
		return halfFloat(uint16(arg))
	case 26:
		return float64(math.Float32frombits(uint32(arg)))
	}
	return math.Float64frombits(arg)
}

func halfFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 31:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

const hexDigits = "0123456789abcdef"

// writeJSONString writes s (valid UTF-8) quoted, escaping what RFC 8259 requires, and
// <, >, & and the two JavaScript line separators so the output is safe inside HTML.
func writeJSONString(w *strings.Builder, s string) {
	w.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			w.WriteString(`\"`)
		case r == '\\':
			w.WriteString(`\\`)
		case r == '\n':
			w.WriteString(`\n`)
		case r == '\r':
			w.WriteString(`\r`)
		case r == '\t':
			w.WriteString(`\t`)
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029:
			w.WriteString(`\u`)
			w.WriteByte(hexDigits[r>>12&0xf])
			w.WriteByte(hexDigits[r>>8&0xf])
			w.WriteByte(hexDigits[r>>4&0xf])
			w.WriteByte(hexDigits[r&0xf])
		default:
			w.WriteRune(r)
		}
	}
	w.WriteByte('"')
}

func jsonDecode(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		typeError(L, 1, "json.decode", "string", L.Get(1))
		return 0
	}
	if len(s) > maxJSONBytes {
		return jsonFailure(L, fmt.Sprintf("json.decode: input larger than %d bytes", maxJSONBytes))
	}
	p := jsonParser{L: L, s: string(s)}
	p.space()
	v, err := p.value(0)
	if err == nil {
		p.space()
		if p.off < len(p.s) {
			err = p.fail("data after the value")
		}
	}
	if err != nil {
		return jsonFailure(L, "json.decode: "+err.Error())
	}
	L.Push(v)
	return 1
}

type jsonParser struct {
	L   *lua.LState
	s   string
	off int
}

func (p *jsonParser) fail(reason string) error {
	return fmt.Errorf("%s at offset %d", reason, p.off)
}

func (p *jsonParser) space() {
	for p.off < len(p.s) {
		switch p.s[p.off] {
		case ' ', '\t', '\n', '\r':
			p.off++
		default:
			return
		}
	}
}

// value parses one value; depth counts the containers around it.
func (p *jsonParser) value(depth int) (lua.LValue, error) {
	if p.off >= len(p.s) {
		return nil, p.fail("unexpected end of input")
	}
	switch c := p.s[p.off]; {
	case c == '{' || c == '[':
		if depth >= luacbor.MaxDepth {
			return nil, p.fail(fmt.Sprintf("nested deeper than %d", luacbor.MaxDepth))
		}
		if c == '{' {
			return p.object(depth + 1)
		}
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		return lua.LString(s), err
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	for _, lit := range []struct {
		text string
		v    lua.LValue
	}{{"true", lua.LTrue}, {"false", lua.LFalse}, {"null", lua.LNil}} {
		if strings.HasPrefix(p.s[p.off:], lit.text) {
			p.off += len(lit.text)
			return lit.v, nil
		}
	}
	return nil, p.fail("invalid character " + strconv.QuoteRune(rune(p.s[p.off])))
}

func (p *jsonParser) object(depth int) (lua.LValue, error) {
	p.off++ // {
	t := p.L.CreateTable(0, 4)
	seen := map[string]bool{}
	p.space()
	if p.off < len(p.s) && p.s[p.off] == '}' {
		p.off++
		return t, nil
	}
	for {
		p.space()
		if p.off >= len(p.s) || p.s[p.off] != '"' {
			return nil, p.fail("expected a string key")
		}
		keyAt := p.off
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if seen[k] {
			p.off = keyAt
			return nil, p.fail("duplicate key " + strconv.Quote(k))
		}
		seen[k] = true
		p.space()
		if p.off >= len(p.s) || p.s[p.off] != ':' {
			return nil, p.fail("expected ':'")
		}
		p.off++
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		t.RawSetString(k, v)
		p.space()
		if p.off >= len(p.s) {
			return nil, p.fail("unexpected end of input")
		}
		switch p.s[p.off] {
		case ',':
			p.off++
		case '}':
			p.off++
			return t, nil
		default:
			return nil, p.fail("expected ',' or '}'")
		}
	}
}

func (p *jsonParser) array(depth int) (lua.LValue, error) {
	p.off++ // [
	t := p.L.CreateTable(4, 0)
	p.space()
	if p.off < len(p.s) && p.s[p.off] == ']' {
		p.off++
		return t, nil
	}
	for i := 1; ; i++ {
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		if v != lua.LNil {
			t.RawSetInt(i, v)
		}
		p.space()
		if p.off >= len(p.s) {
			return nil, p.fail("unexpected end of input")
		}
		switch p.s[p.off] {
		case ',':
			p.off++
		case ']':
			p.off++
			return t, nil
		default:
			return nil, p.fail("expected ',' or ']'")
		}
	}
}

// maxExactInt is 2^53: integers beyond it do not survive as a Lua number.
const maxExactInt = 1 << 53

func (p *jsonParser) number() (lua.LValue, error) {
	start := p.off
	digits := func() int {
		n := 0
		for p.off < len(p.s) && p.s[p.off] >= '0' && p.s[p.off] <= '9' {
			p.off++
			n++
		}
		return n
	}
	if p.s[p.off] == '-' {
		p.off++
	}
	intStart := p.off
	if n := digits(); n == 0 {
		return nil, p.fail("a number needs digits")
	} else if n > 1 && p.s[intStart] == '0' {
		p.off = intStart
		return nil, p.fail("a number may not have a leading zero")
	}
	integer := true
	if p.off < len(p.s) && p.s[p.off] == '.' {
		p.off++
		integer = false
		if digits() == 0 {
			return nil, p.fail("a fraction needs digits")
		}
	}
	if p.off < len(p.s) && (p.s[p.off] == 'e' || p.s[p.off] == 'E') {
		p.off++
		integer = false
		if p.off < len(p.s) && (p.s[p.off] == '+' || p.s[p.off] == '-') {
			p.off++
		}
		if digits() == 0 {
			return nil, p.fail("an exponent needs digits")
		}
	}
	f, err := strconv.ParseFloat(p.s[start:p.off], 64)
	if err != nil {
		p.off = start
		return nil, p.fail("number out of range")
	}
	if n, err := strconv.ParseInt(p.s[start:p.off], 10, 64); integer && (err != nil || n > maxExactInt || n < -maxExactInt) {
		p.off = start
		return nil, p.fail("integer beyond ±2^53, which a Lua number cannot hold exactly")
	}
	return lua.LNumber(f), nil
}

// str parses a string literal at p.off.
func (p *jsonParser) str() (string, error) {
	p.off++ // "
	var b strings.Builder
	for {
		start := p.off
		for p.off < len(p.s) {
			c := p.s[p.off]
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				break
			}
			p.off++
		}
		b.WriteString(p.s[start:p.off])
		if p.off >= len(p.s) {
			return "", p.fail("unterminated string")
		}
		c := p.s[p.off]
		switch {
		case c == '"':
			p.off++
			return b.String(), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(p.s[p.off:])
			if r == utf8.RuneError && size <= 1 {
				return "", p.fail("invalid UTF-8")
			}
			b.WriteString(p.s[p.off : p.off+size])
			p.off += size
		default: // backslash
			if p.off+1 >= len(p.s) {
				return "", p.fail("unterminated escape")
			}
			e := p.s[p.off+1]
			p.off += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) {
					if r >= 0xdc00 || !strings.HasPrefix(p.s[p.off:], `\u`) {
						return "", p.fail("lone surrogate in a \\u escape")
					}
					p.off += 2
					r2, err := p.hex4()
					if err != nil {
						return "", err
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						return "", p.fail("lone surrogate in a \\u escape")
					}
				}
				b.WriteRune(r)
			default:
				p.off -= 2
				return "", p.fail("invalid escape")
			}
		}
	}
}

func (p *jsonParser) hex4() (rune, error) {
	if p.off+4 > len(p.s) {
		return 0, p.fail("short \\u escape")
	}
	n, err := strconv.ParseUint(p.s[p.off:p.off+4], 16, 32)
	if err != nil {
		return 0, p.fail("invalid \\u escape")
	}
	p.off += 4
	return rune(n), nil
}
