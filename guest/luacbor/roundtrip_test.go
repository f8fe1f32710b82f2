package luacbor

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/govalue"
)

// roundTripCases are Lua expressions with the CBOR major type their encoding must start
// with; want is the expected value after the round trip when it is not the input.
var roundTripCases = []struct {
	name  string
	expr  string
	major byte
	want  string
}{
	{name: "nil", expr: "nil", major: majorSimple},
	{name: "true", expr: "true", major: majorSimple},
	{name: "false", expr: "false", major: majorSimple},
	{name: "zero", expr: "0", major: majorUint},
	{name: "negative zero", expr: "-0.0", major: majorUint, want: "0"},
	{name: "one", expr: "1", major: majorUint},
	{name: "minus one", expr: "-1", major: majorNegInt},
	{name: "2^53", expr: "2^53", major: majorUint},
	{name: "-2^53", expr: "-2^53", major: majorNegInt},
	{name: "2^53+2", expr: "2^53+2", major: majorSimple},
	{name: "-2^53-2", expr: "-2^53-2", major: majorSimple},
	{name: "2^64", expr: "2^64", major: majorSimple},
	{name: "half", expr: "0.5", major: majorSimple},
	{name: "tiny", expr: "5e-324", major: majorSimple},
	{name: "pi", expr: "math.pi", major: majorSimple},
	{name: "NaN", expr: "0/0", major: majorSimple},
	{name: "inf", expr: "1/0", major: majorSimple},
	{name: "-inf", expr: "-1/0", major: majorSimple},
	{name: "math.huge", expr: "math.huge", major: majorSimple}, // gopher-lua: MaxFloat64, not inf
	{name: "empty string", expr: `""`, major: majorText},
	{name: "text", expr: `"héllo, 世界"`, major: majorText},
	{name: "binary", expr: `"a\0b\255c"`, major: majorBytes},
	{name: "lone NUL", expr: `"\0"`, major: majorText},
	{name: "long string", expr: `string.rep("x", 70000)`, major: majorText},
	{name: "empty table", expr: "{}", major: majorMap},
	{name: "array", expr: `{1, "two", 3.5, true}`, major: majorArray},
	{name: "one-element array", expr: `{false}`, major: majorArray},
	{name: "array from explicit keys", expr: `{[2]="b", [1]="a", [3]="c"}`, major: majorArray},
	{name: "sparse is a map", expr: `{[1]="a", [3]="c"}`, major: majorMap},
	{name: "array plus key is a map", expr: `{1, 2, n=2}`, major: majorMap},
	{name: "zero key is a map", expr: `{[0]="z", [1]="a"}`, major: majorMap},
	{name: "negative and float keys", expr: `{[-1]="m", [2.5]="f", [2^60]="big"}`, major: majorMap},
	{name: "string digit keys stay strings", expr: `{["1"]="s", [1]="n"}`, major: majorMap},
	{name: "binary keys", expr: `{["\255\0"]=1, ["ok"]=2}`, major: majorMap},
	{name: "map", expr: `{name="Alice", age=30, tags={"a","b"}}`, major: majorMap},
	{name: "large map", expr: `(function() local t = {} for i = 1, 300 do t["k"..i] = i end return t end)()`, major: majorMap},
	{name: "large sparse map", expr: `(function() local t = {} for i = 1, 70000 do t[i*2] = i end return t end)()`, major: majorMap},
	{name: "large array", expr: `(function() local t = {} for i = 1, 70000 do t[i] = i end return t end)()`, major: majorArray},
	{name: "nested", expr: `{a={b={c={1,{2,{3}},{x=1}}}}, list={{}, {{}}, {k={}}}}`, major: majorMap},
	{name: "mixed keys", expr: `{1, 2, 3, [10]=10, x="x", [0.5]="half", [-3]=-3}`, major: majorMap},
	{name: "table emptied to nil", expr: `(function() local t = {1, 2, x=1} t[1] = nil t[2] = nil t.x = nil return t end)()`, major: majorMap},
	{name: "array with trailing nil", expr: `(function() local t = {1, 2, 3} t[3] = nil return t end)()`, major: majorArray},
	{name: "shared subtable (DAG)", expr: `(function() local s = {1, 2} return {a=s, b=s, c={s, s}} end)()`, major: majorMap},
	{name: "metatable is ignored", expr: `setmetatable({1, 2}, {__index=function() return 9 end})`, major: majorArray},
}

func TestRoundTrip(t *testing.T) {
	L := newState(t)
	for _, tc := range roundTripCases {
		t.Run(tc.name, func(t *testing.T) {
			in := eval(t, L, tc.expr)
			b, err := Encode(nil, in)
			require.NoError(t, err)
			require.NotEmpty(t, b)
			assert.Equal(t, tc.major, b[0]&0xe0, "major type of % x", b[:min(len(b), 16)])
			require.NoError(t, govalue.DecMode().Wellformed(b))
			var anyv any
			require.NoError(t, govalue.DecMode().Unmarshal(b, &anyv), "host-side decode")

			out, err := Decode(L, b)
			require.NoError(t, err)
			want := in
			if tc.want != "" {
				want = eval(t, L, tc.want)
			}
			requireLuaEqual(t, want, out)

			// The encoding is a function of the value: encoding the decoded value
			// again gives the same length (key order may differ, bytes per key not).
			b2, err := Encode(nil, out)
			require.NoError(t, err)
			assert.Len(t, b2, len(b))
		})
	}
}

func TestEncodeAppends(t *testing.T) {
	L := newState(t)
	dst := []byte{0xaa, 0xbb}
	b, err := Encode(dst, eval(t, L, `{1, 2}`))
	require.NoError(t, err)
	assert.Equal(t, []byte{0xaa, 0xbb, 0x82, 0x01, 0x02}, b)

	// A refused value leaves dst as it was.
	b, err = Encode(dst, eval(t, L, `{1, print}`))
	require.Error(t, err)
	assert.Equal(t, []byte{0xaa, 0xbb}, b)
}

// TestEncodeBytes pins exact encodings: these are what a Go host and other guests see.
func TestEncodeBytes(t *testing.T) {
	L := newState(t)
	tests := []struct {
		expr string
		want []byte
	}{
		{"nil", []byte{0xf6}},
		{"true", []byte{0xf5}},
		{"false", []byte{0xf4}},
		{"0", []byte{0x00}},
		{"23", []byte{0x17}},
		{"24", []byte{0x18, 0x18}},
		{"255", []byte{0x18, 0xff}},
		{"256", []byte{0x19, 0x01, 0x00}},
		{"65536", []byte{0x1a, 0x00, 0x01, 0x00, 0x00}},
		{"2^32", []byte{0x1b, 0, 0, 0, 1, 0, 0, 0, 0}},
		{"-1", []byte{0x20}},
		{"-24", []byte{0x37}},
		{"-25", []byte{0x38, 0x18}},
		{"2^53", []byte{0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0}},
		{"-2^53", []byte{0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"2^53+2", []byte{0xfb, 0x43, 0x40, 0, 0, 0, 0, 0, 0x01}},
		{"0.5", []byte{0xfb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0}},
		{"1/0", []byte{0xfb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0}},
		{"-1/0", []byte{0xfb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0}},
		{`"a"`, []byte{0x61, 'a'}},
		{`"\255"`, []byte{0x41, 0xff}},
		{`{}`, []byte{0xa0}},
		{`{"a"}`, []byte{0x81, 0x61, 'a'}},
		{`{a=1}`, []byte{0xa1, 0x61, 'a', 0x01}},
		{`{[2.5]=true}`, []byte{0xa1, 0xfb, 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0xf5}},
		{`{["\255"]=1}`, []byte{0xa1, 0x41, 0xff, 0x01}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			b, err := Encode(nil, eval(t, L, tc.expr))
			require.NoError(t, err)
			assert.Equal(t, tc.want, b)
		})
	}

	nan, err := Encode(nil, lua.LNumber(math.NaN()))
	require.NoError(t, err)
	require.Len(t, nan, 9)
	assert.Equal(t, byte(0xfb), nan[0])
}

// TestEncodeMapHeadLengths covers the in-place widening of a map head past 23 pairs.
func TestEncodeMapHeadLengths(t *testing.T) {
	L := newState(t)
	for _, n := range []int{23, 24, 255, 256, 65535, 65536} {
		tb := L.NewTable()
		for i := range n {
			tb.RawSetInt(2*i+2, lua.LNumber(i)) // even keys: never an array
		}
		b, err := Encode([]byte{0x99}, tb)
		require.NoError(t, err)
		require.Equal(t, byte(0x99), b[0])
		var m map[any]any
		require.NoError(t, govalue.DecMode().Unmarshal(b[1:], &m), "n=%d", n)
		require.Len(t, m, n)
		for i := range n {
			require.Equal(t, int64(i), m[int64(2*i+2)])
		}
	}
}
