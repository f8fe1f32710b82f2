package luacbor

import (
	"math"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/govalue"
)

// TestHostReadsEncoding decodes Encode's output the way Go programs on the host do.
func TestHostReadsEncoding(t *testing.T) {
	L := newState(t)
	tests := []struct {
		expr string
		want any
	}{
		{"nil", nil},
		{"true", true},
		{"42", int64(42)},
		{"-7", int64(-7)},
		{"2^53", int64(1 << 53)},
		{"-2^53", int64(-1 << 53)},
		{"2^53+2", float64(1<<53 + 2)},
		{"0.5", 0.5},
		{"1/0", math.Inf(1)},
		{"-1/0", math.Inf(-1)},
		{`"text"`, "text"},
		{`"a\0b"`, "a\x00b"},
		{`"\0\255"`, []byte{0, 255}},
		{`{}`, map[any]any{}},
		{`{1, "b", 2.5}`, []any{int64(1), "b", 2.5}},
		{`{[1]="a", [3]="c"}`, map[any]any{int64(1): "a", int64(3): "c"}},
		{`{name="Alice", age=30, tags={"a","b"}}`,
			map[any]any{"name": "Alice", "age": int64(30), "tags": []any{"a", "b"}}},
		{`{[0.5]=1, [-1]={x={}}}`, map[any]any{0.5: int64(1), int64(-1): map[any]any{"x": map[any]any{}}}},
		{`{["\255"]=true}`, map[any]any{cbor.ByteString("\xff"): true}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			b, err := Encode(nil, eval(t, L, tc.expr))
			require.NoError(t, err)
			require.NoError(t, govalue.DecMode().Wellformed(b))
			require.Nil(t, abi.CheckValue(b, 0))
			var got any
			require.NoError(t, govalue.DecMode().Unmarshal(b, &got))
			assert.Equal(t, tc.want, got)
		})
	}

	// NaN cannot be compared with assert.Equal.
	b, err := Encode(nil, lua.LNumber(math.NaN()))
	require.NoError(t, err)
	var got any
	require.NoError(t, govalue.DecMode().Unmarshal(b, &got))
	require.IsType(t, float64(0), got)
	assert.True(t, math.IsNaN(got.(float64)))
}

// TestDecodeHostEncoding decodes what a Go program writes with govalue.Marshal.
func TestDecodeHostEncoding(t *testing.T) {
	L := newState(t)
	type person struct {
		Name string   `cbor:"name"`
		Age  int      `cbor:"age"`
		Tags []string `cbor:"tags"`
	}
	tests := []struct {
		name string
		in   any
		want string // Lua expression
	}{
		{"nil", nil, "nil"},
		{"bool", false, "false"},
		{"int", 42, "42"},
		{"negative int", int64(-1000000), "-1000000"},
		{"uint64 max", uint64(math.MaxUint64), "2^64"},
		{"int64 min", int64(math.MinInt64), "-2^63"},
		{"float64", 0.5, "0.5"},
		{"float32", float32(1.5), "1.5"},
		{"float64 integral", 3.0, "3"},
		{"NaN", math.NaN(), "0/0"},
		{"inf", math.Inf(-1), "-1/0"},
		{"string", "héllo", `"héllo"`},
		{"bytes", []byte{0, 255, 'a'}, `"\0\255a"`},
		{"empty bytes", []byte{}, `""`},
		{"slice", []any{1, "two", 3.5}, `{1, "two", 3.5}`},
		{"slice with nil", []any{1, nil, 3}, `{1, nil, 3}`},
		{"empty slice", []int{}, `{}`},
		{"empty map", map[string]int{}, `{}`},
		{"map", map[string]any{"name": "Alice", "age": 30, "tags": []string{"a", "b"}},
			`{name="Alice", age=30, tags={"a","b"}}`},
		{"struct", person{Name: "Alice", Age: 30, Tags: []string{"a", "b"}},
			`{name="Alice", age=30, tags={"a","b"}}`},
		{"int keys", map[int]string{1: "a", 3: "c"}, `{[1]="a", [3]="c"}`},
		{"int keys 1..n", map[int]string{1: "a", 2: "b"}, `{"a", "b"}`},
		{"float keys", map[float64]bool{2.5: true, -1: false}, `{[2.5]=true, [-1]=false}`},
		{"null map values vanish", map[string]any{"a": nil, "b": 1}, `{b=1}`},
		{"nested", map[string]any{"a": []any{map[string]any{"b": []any{}}}}, `{a={{b={}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := govalue.Marshal(tc.in)
			require.NoError(t, err)
			got, err := Decode(L, b)
			require.NoError(t, err, "% x", b)
			requireLuaEqual(t, eval(t, L, tc.want), got)
		})
	}
}
