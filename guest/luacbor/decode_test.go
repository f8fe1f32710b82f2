package luacbor

import (
	"bytes"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// h concatenates bytes (ints, runes), strings and byte slices into a test input.
func h(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			b = append(b, byte(p))
		case rune:
			b = append(b, byte(p))
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		default:
			panic(p)
		}
	}
	return b
}

func TestDecodeAccepts(t *testing.T) {
	L := newState(t)
	tests := []struct {
		name string
		in   []byte
		want string // Lua expression
	}{
		{"uint", h(0x17), "23"},
		{"uint non-shortest", h(0x1b, 0, 0, 0, 0, 0, 0, 0, 1), "1"},
		{"uint64 max", h(0x1b, strings.Repeat("\xff", 8)), "2^64"},
		{"negint", h(0x38, 0xff), "-256"},
		{"negint min", h(0x3b, strings.Repeat("\xff", 8)), "-2^64"},
		{"float16 1.0", h(0xf9, 0x3c, 0x00), "1"},
		{"float16 -2.5", h(0xf9, 0xc1, 0x00), "-2.5"},
		{"float16 subnormal", h(0xf9, 0x00, 0x01), "2^-24"},
		{"float16 max", h(0xf9, 0x7b, 0xff), "65504"},
		{"float16 inf", h(0xf9, 0x7c, 0x00), "1/0"},
		{"float16 -inf", h(0xf9, 0xfc, 0x00), "-1/0"},
		{"float16 NaN", h(0xf9, 0x7e, 0x00), "0/0"},
		{"float32", h(0xfa, 0x3f, 0xc0, 0, 0), "1.5"},
		{"float64", h(0xfb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0), "0.5"},
		{"false", h(0xf4), "false"},
		{"true", h(0xf5), "true"},
		{"null", h(0xf6), "nil"},
		{"undefined", h(0xf7), "nil"},
		{"bytes", h(0x43, 0, 0xff, 'a'), `"\0\255a"`},
		{"text", h(0x62, "hi"), `"hi"`},
		{"invalid UTF-8 text is kept as bytes", h(0x62, 0xc3, 0x28), `"\195\40"`},
		{"empty array", h(0x80), "{}"},
		{"array", h(0x83, 0x01, 0x61, 'b', 0xf5), `{1, "b", true}`},
		{"array holes", h(0x84, 0x01, 0xf6, 0xf7, 0x04), `{1, nil, nil, 4}`},
		{"array of nulls", h(0x82, 0xf6, 0xf6), `{}`},
		{"map", h(0xa2, 0x61, 'a', 0x01, 0x20, 0x61, 'm'), `{a=1, [-1]="m"}`},
		{"map null value skipped", h(0xa2, 0x61, 'a', 0xf6, 0x61, 'b', 0x02), `{b=2}`},
		{"map float key", h(0xa1, 0xf9, 0x41, 0x00, 0xf5), `{[2.5]=true}`},
		{"map integral float key", h(0xa1, 0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x61, 'x'), `{"x"}`},
		{"map byte-string key", h(0xa1, 0x41, 0xff, 0x01), `{["\255"]=1}`},
		{"map duplicate key, last wins", h(0xa2, 0x01, 0x61, 'a', 0x01, 0x61, 'b'), `{"b"}`},
		{"sparse keys within budget", h(0xa1, 0x1a, 0x00, 0x0f, 0x00, 0x00, 0xf5), `{[983040]=true}`},
		{"40 nested arrays", h(strings.Repeat("\x81", maxDecodeDepth), 0x01), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(L, tc.in)
			require.NoError(t, err)
			if tc.want != "" {
				requireLuaEqual(t, eval(t, L, tc.want), got)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	L := newState(t)
	ff8 := strings.Repeat("\xff", 8)
	tests := []struct {
		name   string
		in     []byte
		reason string // substring of the error
	}{
		{"empty", nil, "unexpected end"},
		{"huge array", h(0x9b, ff8), "more than 1048576 elements"},
		{"huge array 2^32", h(0x9a, ff8[:4]), "more than 1048576 elements"},
		{"huge map", h(0xbb, ff8), "more than 1048576 elements"},
		{"map count fits bytes but not pairs", h(0xa2, 0x01, 0x01, 0x01), "longer than the input"},
		{"huge byte string", h(0x5b, ff8), "longer than the input"},
		{"huge text string", h(0x7b, ff8), "longer than the input"},
		{"short string", h(0x63, "ab"), "longer than the input"},
		{"tag", h(0xc0, 0x61, "x"), "tags"},
		{"tag 24 bignum", h(0xc2, 0x41, 0x01), "tags"},
		{"nested tag", h(0x81, 0xd8, 0x20, 0x00), "tags"},
		{"indefinite array", h(0x9f, 0x01, 0xff), "indefinite"},
		{"indefinite map", h(0xbf, 0xff), "indefinite"},
		{"indefinite bytes", h(0x5f, 0x41, 0x00, 0xff), "indefinite"},
		{"indefinite text", h(0x7f, 0xff), "indefinite"},
		{"reserved ai 28", h(0x1c), "reserved"},
		{"reserved ai 29", h(0x3d), "reserved"},
		{"reserved ai 30 in array", h(0x81, 0x5e), "reserved"},
		{"reserved simple", h(0xfc), "reserved"},
		{"indefinite uint", h(0x1f), "reserved"},
		{"break", h(0xff), "break"},
		{"break in array", h(0x81, 0xff), "break"},
		{"simple 0", h(0xe0), "simple value 0"},
		{"simple 19", h(0xf3), "simple value 19"},
		{"simple 32", h(0xf8, 0x20), "simple value 32"},
		{"simple 255", h(0xf8, 0xff), "simple value 255"},
		{"invalid two-byte simple", h(0xf8, 0x10), "simple value 16"},
		{"trailing byte", h(0x01, 0x00), "trailing"},
		{"trailing after map", h(0xa0, 0xa0), "trailing"},
		{"truncated uint16", h(0x19, 0x01), "unexpected end"},
		{"truncated uint64", h(0x1b, 0, 0), "unexpected end"},
		{"truncated float64", h(0xfb, 0, 0, 0), "unexpected end"},
		{"truncated array", h(0x82, 0x01), "longer than the input"},
		{"truncated array element", h(0x82, 0x01, 0x19), "unexpected end"},
		{"truncated map value", h(0xa1, 0x61), "longer than the input"},
		{"41 nested arrays", h(strings.Repeat("\x81", maxDecodeDepth+1), 0x01), "nesting deeper than 40"},
		{"41 nested maps", h(strings.Repeat("\xa1\x00", maxDecodeDepth+1), 0x01), "nesting deeper than 40"},
		{"null key", h(0xa1, 0xf6, 0x01), "map key"},
		{"undefined key", h(0xa1, 0xf7, 0x01), "map key"},
		{"bool key", h(0xa1, 0xf5, 0x01), "map key"},
		{"array key", h(0xa1, 0x80, 0x01), "map key"},
		{"map key", h(0xa1, 0xa0, 0x01), "map key"},
		{"tag key", h(0xa1, 0xc1, 0x00, 0x01), "tags"},
		{"NaN key", h(0xa1, 0xf9, 0x7e, 0x00, 0x01), "NaN"},
		{"key beyond budget", h(0xa1, 0x1a, 0x03, 0xff, 0xff, 0xff, 0x01), "too sparse"},
		{"sparse keys summed over tables", h(0x82,
			0xa1, 0x1a, 0x00, 0x0f, 0x00, 0x00, 0x01,
			0xa1, 0x1a, 0x00, 0x0f, 0x00, 0x00, 0x01), "too sparse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decode(L, tc.in)
			require.Error(t, err)
			assert.Equal(t, lua.LNil, v)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.True(t, strings.HasPrefix(err.Error(), "luacbor: "), err.Error())
			assert.Contains(t, err.Error(), tc.reason)
			assert.LessOrEqual(t, de.Offset, len(tc.in))
		})
	}
}

// TestDecodeHostileAllocation measures that lying lengths allocate next to nothing: the
// declared count is refused, or preallocation is capped, before the lie is found out.
func TestDecodeHostileAllocation(t *testing.T) {
	L := newState(t)
	nestedLie := func() []byte {
		// 40 nested arrays, each declaring about as many elements as the 1 MiB input has
		// bytes, then a refused item: a decoder trusting the counts would reserve
		// 40 x 1 Mi slots (640 MiB) before finding out.
		var b []byte
		for range maxDecodeDepth {
			b = appendHead(b, majorArray, 1<<20-uint64(len(b))-9)
		}
		b = append(b, 0xc0)
		return append(b, make([]byte, 1<<20-len(b))...)
	}()
	tests := map[string][]byte{
		"huge array":        h(0x9b, strings.Repeat("\xff", 8)),
		"huge map":          h(0xbb, strings.Repeat("\xff", 8)),
		"huge bytes":        h(0x5b, strings.Repeat("\xff", 8)),
		"sparse key":        h(0xa1, 0x1a, 0x03, 0xff, 0xff, 0xff, 0x01),
		"nested lying head": nestedLie,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decode(L, in)
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated")
		})
	}
}

func TestDecodeTextValidity(t *testing.T) {
	// Lua strings are binary-safe, so a text string is copied byte for byte.
	L := newState(t)
	in := h(0x64, 0xff, 0x00, 'a', 0x80)
	v, err := Decode(L, in)
	require.NoError(t, err)
	assert.Equal(t, lua.LString("\xff\x00a\x80"), v)
	// It goes back out as a byte string.
	b, err := Encode(nil, v)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(h(0x44, 0xff, 0x00, 'a', 0x80), b))
}

func TestHalfToFloat64(t *testing.T) {
	// Every binary16 converted by hand agrees with the bit-exact reference below.
	for i := range 1 << 16 {
		got := halfToFloat64(uint16(i))
		want := refHalf(uint16(i))
		if math.IsNaN(want) {
			require.True(t, math.IsNaN(got), "%#04x", i)
			continue
		}
		require.Equal(t, want, got, "%#04x", i)
		require.Equal(t, math.Signbit(want), math.Signbit(got), "%#04x", i)
	}
}

// refHalf is the textbook formula, (-1)^s * 2^(e-15) * 1.m, written independently.
func refHalf(h uint16) float64 {
	s, e, m := h>>15, int(h>>10&31), float64(h&1023)
	sign := 1.0
	if s == 1 {
		sign = -1
	}
	switch e {
	case 0:
		return sign * m / 1024 * math.Pow(2, -14)
	case 31:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}
