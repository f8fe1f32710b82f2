package luacbor

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/govalue"
)

// FuzzDecode feeds arbitrary bytes to Decode. Besides never panicking, Decode must agree
// with the host's check: what govalue.DecMode().Wellformed accepts, Decode accepts, except
// the constructs Decode refuses by design (see refusedByDesign); what Decode accepts
// beyond that is only nesting between 33 and 40 levels. An accepted value must re-encode
// to something the host accepts and decode to the same Lua value.
func FuzzDecode(f *testing.F) {
	for _, seed := range [][]byte{
		{0xa3, 0x64, 'n', 'a', 'm', 'e', 0x65, 'A', 'l', 'i', 'c', 'e', 0x63, 'a', 'g', 'e', 0x18, 0x1e,
			0x64, 't', 'a', 'g', 's', 0x82, 0x61, 'a', 0x61, 'b'},
		{0x84, 0x01, 0xf6, 0xf9, 0x7e, 0x00, 0xa1, 0x42, 0x00, 0xff, 0x80},
		{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		f.Add(seed)
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	f.Cleanup(L.Close)
	f.Fuzz(func(t *testing.T, b []byte) {
		wfErr := govalue.DecMode().Wellformed(b)
		v, err := Decode(L, b)
		if err != nil {
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			require.True(t, strings.HasPrefix(err.Error(), "luacbor: "), err.Error())
			if wfErr == nil && !refusedByDesign(b) {
				t.Fatalf("Decode refused % x, which the host accepts: %v", b, err)
			}
			return
		}
		enc, err := Encode(nil, v)
		if wfErr != nil {
			// Decode's only extra leniency is the envelope's nesting allowance, and a
			// value that deep cannot be stored again.
			var nest *cbor.MaxNestedLevelError
			require.ErrorAs(t, wfErr, &nest, "Decode accepted % x: %s", b, show(v))
			var ve *ValueError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "nesting deeper than 32 levels", ve.Reason)
			return
		}
		require.NoError(t, err, "re-encoding %s", show(v))
		require.NoError(t, govalue.DecMode().Wellformed(enc), "% x", enc)
		v2, err := Decode(L, enc)
		require.NoError(t, err, "% x", enc)
		requireLuaEqual(t, v, v2)
	})
}

// refusedByDesign reports whether b, which Wellformed accepted, has something Decode
// refuses on purpose: a map key that is not a string or a number (or is NaN), a simple
// value other than false/true/null/undefined, or integer keys so sparse that gopher-lua
// would pad tables with more than maxPadding nils. It is written independently of the
// decoder, assuming well-formed input.
func refusedByDesign(b []byte) bool {
	w := walker{b: b}
	w.item()
	return w.refused
}

type walker struct {
	b       []byte
	off     int
	refused bool
	padding int
}

func (w *walker) head() (major, ai byte, arg uint64) {
	ib := w.b[w.off]
	w.off++
	major, ai = ib>>5, ib&31
	if ai < 24 {
		return major, ai, uint64(ai)
	}
	n := 1 << (ai - 24) // 1, 2, 4 or 8 bytes follow
	var buf [8]byte
	copy(buf[8-n:], w.b[w.off:w.off+n])
	w.off += n
	return major, ai, binary.BigEndian.Uint64(buf[:])
}

// item skips one data item and returns its initial byte.
func (w *walker) item() byte {
	ib := w.b[w.off]
	major, ai, arg := w.head()
	switch major {
	case 2, 3:
		w.off += int(arg)
	case 4:
		for range arg {
			w.item()
		}
	case 5:
		alen := 0
		for range arg {
			kstart := w.off
			kb := w.item()
			vb := w.item()
			kmajor := kb >> 5
			var key float64
			switch {
			case kmajor == 0 || kmajor == 1:
				_, _, n := (&walker{b: w.b, off: kstart}).head()
				key = float64(n)
				if kmajor == 1 {
					key = -1 - key
				}
			case kmajor == 2 || kmajor == 3:
				continue
			case kb == 0xf9 || kb == 0xfa || kb == 0xfb:
				_, kai, n := (&walker{b: w.b, off: kstart}).head()
				key = floatArg(kai, n) // the decoder's conversion is tested on its own
				if math.IsNaN(key) {
					w.refused = true
				}
			default:
				w.refused = true
				continue
			}
			if vb == 0xf6 || vb == 0xf7 {
				continue // a nil value is not stored, so its key pads nothing
			}
			if key == math.Trunc(key) && key > float64(alen) && key < float64(lua.MaxArrayIndex) {
				w.padding += int(key) - alen - 1
				if w.padding > maxPadding {
					w.refused = true
				}
				alen = int(key)
			}
		}
	case 6:
		w.refused = true // unreachable: Wellformed refuses tags
	case 7:
		if ai < 20 || ai == 24 {
			w.refused = true
		}
	}
	return ib
}

// FuzzRoundTrip builds a Lua value from the fuzz input, encodes it, and checks that the
// host accepts the encoding and that it decodes to an equal value.
func FuzzRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"", "\x00\x07", "\x05\x03\x04\x03abc\x02\x01\x02\x03\x04\x05\x06\x07\x08\x01\x01",
		"\x06\x04\x00\x04\x05hello\x01\x03\x07\x00\x05\x01\x00\x09\x02\x09\x03",
		strings.Repeat("\x05\x01", 40),
	} {
		f.Add([]byte(seed))
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	f.Cleanup(L.Close)
	var buf []byte
	f.Fuzz(func(t *testing.T, data []byte) {
		g := generator{data: data, L: L}
		v, _ := g.value(0)
		var err error
		buf, err = Encode(buf[:0], v)
		require.NoError(t, err, "%s", show(v))
		require.NoError(t, govalue.DecMode().Wellformed(buf), "% x", buf)
		var host any
		require.NoError(t, govalue.DecMode().Unmarshal(buf, &host), "% x", buf)
		got, err := Decode(L, buf)
		require.NoError(t, err, "% x", buf)
		requireLuaEqual(t, v, got)
	})
}

// generator turns fuzz bytes into a Lua value deterministically. Every node consumes at
// least one byte and an exhausted input yields leaves, so the value stays small.
type generator struct {
	data []byte
	pos  int
	L    *lua.LState
	made []madeTable // finished tables, for sharing them (a DAG)
}

type madeTable struct {
	t      *lua.LTable
	height int // levels of tables in t, itself included
}

var specialNumbers = []float64{
	0, math.Copysign(0, -1), 1, -1, 1 << 53, -(1 << 53), 1<<53 + 2, -(1<<53 + 2), 1 << 63,
	math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), 0.5, -2.5,
}

func (g *generator) byte() byte {
	if g.pos >= len(g.data) {
		return 0
	}
	c := g.data[g.pos]
	g.pos++
	return c
}

func (g *generator) bytes(n int) string {
	end := min(g.pos+n, len(g.data))
	s := string(g.data[g.pos:end])
	g.pos = end
	return s
}

func (g *generator) number() float64 {
	switch g.byte() % 4 {
	case 0:
		return float64(int8(g.byte()))
	case 1:
		return specialNumbers[int(g.byte())%len(specialNumbers)]
	case 2:
		var b [8]byte
		copy(b[:], g.bytes(8))
		return math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
	default:
		// Integers around 2^53, where integer and float encodings meet.
		return float64(1<<53) + float64(int8(g.byte()))*float64(int(g.byte())%3+1)
	}
}

func (g *generator) key() lua.LValue {
	switch g.byte() % 3 {
	case 0:
		return lua.LString(g.bytes(int(g.byte() % 12)))
	case 1:
		if f := g.number(); !math.IsNaN(f) {
			return lua.LNumber(f)
		}
		return lua.LNumber(0)
	default:
		return lua.LNumber(int(g.byte()) % 40)
	}
}

// value returns a value to sit under depth enclosing tables, and its height in tables.
func (g *generator) value(depth int) (lua.LValue, int) {
	if depth == 0 && g.pos >= len(g.data) {
		return lua.LNil, 0
	}
	op := g.byte() % 9
	if op >= 5 && depth >= MaxDepth {
		op = 0
	}
	switch op {
	case 0:
		return lua.LNumber(g.number()), 0
	case 1:
		return lua.LBool(g.byte()&1 == 1), 0
	case 2, 3:
		return lua.LString(g.bytes(int(g.byte() % 24))), 0
	case 4:
		// A run of valid multi-byte UTF-8, so text strings are more than ASCII.
		return lua.LString(strings.Repeat("é世", int(g.byte()%4))), 0
	case 8:
		for i := len(g.made) - 1; i >= 0 && i >= len(g.made)-4; i-- {
			if m := g.made[i]; depth+m.height <= MaxDepth && g.byte()&1 == 1 {
				return m.t, m.height
			}
		}
		fallthrough
	default:
		t := g.L.CreateTable(0, 0) // NewTable reserves 32+32 slots: slow fuzzing
		height := 0
		n := int(g.byte() % 6)
		for i := 1; i <= n; i++ {
			var k lua.LValue
			switch op {
			case 5:
				k = lua.LNumber(i) // an array
			case 6:
				k = g.key()
			default:
				k = lua.LNumber(int(g.byte())%8 + 1) // small, often sparse
			}
			v, hv := g.value(depth + 1)
			if v == lua.LNil {
				continue
			}
			t.RawSet(k, v)
			height = max(height, hv)
		}
		g.made = append(g.made, madeTable{t, height + 1})
		return t, height + 1
	}
}
