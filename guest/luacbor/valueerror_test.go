package luacbor

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/govalue"
)

func TestValueErrors(t *testing.T) {
	L := newState(t)
	deep := strings.Repeat("[1]", MaxDepth)
	tests := []struct {
		name   string
		value  func() lua.LValue
		path   string
		reason string
	}{
		{"top-level function", func() lua.LValue { return eval(t, L, "print") },
			"value", "function is not storable"},
		{"function field", func() lua.LValue { return eval(t, L, "{f=function() end}") },
			"value.f", "function is not storable"},
		{"nested array element", func() lua.LValue { return eval(t, L, "{items={1, 2, print}}") },
			"value.items[3]", "function is not storable"},
		{"sparse map element", func() lua.LValue { return eval(t, L, "{[1]=1, [3]=print}") },
			"value[3]", "function is not storable"},
		{"float key", func() lua.LValue { return eval(t, L, "{[2.5]=print}") },
			"value[2.5]", "function is not storable"},
		{"huge float key", func() lua.LValue { return eval(t, L, "{[2^63]={[-1e300]=print}}") },
			"value[9.223372036854776e+18][-1e+300]", "function is not storable"},
		{"integral key", func() lua.LValue { return eval(t, L, "{[-2^53]=print}") },
			"value[-9007199254740992]", "function is not storable"},
		{"identifier with digits and underscore", func() lua.LValue { return eval(t, L, "{_a1={B_2=print}}") },
			"value._a1.B_2", "function is not storable"},
		{"leading digit", func() lua.LValue { return eval(t, L, `{["1abc"]=print}`) },
			`value["1abc"]`, "function is not storable"},
		{"non-identifier key", func() lua.LValue { return eval(t, L, `{["not an ident"]=print}`) },
			`value["not an ident"]`, "function is not storable"},
		{"keyword key", func() lua.LValue { return eval(t, L, `{["end"]={x=print}}`) },
			`value["end"].x`, "function is not storable"},
		{"binary key", func() lua.LValue { return eval(t, L, `{["a\0\255\"1"]=print}`) },
			`value["a\000\255\"1"]`, "function is not storable"},
		{"userdata", func() lua.LValue {
			tb := L.NewTable()
			tb.RawSetString("u", L.NewUserData())
			return tb
		}, "value.u", "userdata is not storable"},
		{"thread", func() lua.LValue { return eval(t, L, "{co=coroutine.create(function() end)}") },
			"value.co", "thread is not storable"},
		{"channel", func() lua.LValue {
			tb := L.NewTable()
			tb.RawSetInt(1, lua.LChannel(make(chan lua.LValue)))
			return tb
		}, "value[1]", "channel is not storable"},
		{"self cycle", func() lua.LValue { return eval(t, L, "(function() local t = {} t.self = t return t end)()") },
			"value.self", "cyclic table"},
		{"deep cycle", func() lua.LValue {
			return eval(t, L, "(function() local a = {b={{}}} a.b[1].back = a return a end)()")
		}, "value.b[1].back", "cyclic table"},
		{"cycle in array", func() lua.LValue { return eval(t, L, "(function() local t = {1} t[2] = t return t end)()") },
			"value[2]", "cyclic table"},
		{"depth 33", func() lua.LValue { return nested(L, MaxDepth+1, lua.LTrue) },
			"value" + deep, "nesting deeper than 32 levels"},
		{"depth 33 of empty tables", func() lua.LValue { return nested(L, MaxDepth, L.NewTable()) },
			"value" + deep, "nesting deeper than 32 levels"},
		{"boolean key", func() lua.LValue { return eval(t, L, "{[true]=1}") },
			"value", "table key of type boolean is not storable"},
		{"nested boolean key", func() lua.LValue { return eval(t, L, "{a={x=1, [false]=1}}") },
			"value.a", "table key of type boolean is not storable"},
		{"table key", func() lua.LValue { return eval(t, L, "{list={1, {[{}]=1}}}") },
			"value.list[2]", "table key of type table is not storable"},
		{"function key", func() lua.LValue { return eval(t, L, "{[print]=1}") },
			"value", "table key of type function is not storable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(nil, tc.value())
			require.Error(t, err)
			var ve *ValueError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.path, ve.Path)
			assert.Equal(t, tc.reason, ve.Reason)
			assert.Equal(t, tc.path+": "+tc.reason, err.Error())
		})
	}
}

// TestNaNKeyFromGo: only Go code can set a NaN key, and gopher-lua's Next cannot see it
// (the lookup of NaN never matches), so the table stores as the empty map it behaves as.
func TestNaNKeyFromGo(t *testing.T) {
	tb := newState(t).NewTable()
	tb.RawSetH(lua.LNumber(math.NaN()), lua.LTrue)
	b, err := Encode(nil, tb)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xa0}, b)
}

func TestDepthLimit(t *testing.T) {
	L := newState(t)
	// 32 levels is the most a value may have, and the host accepts exactly that.
	for _, leaf := range []lua.LValue{lua.LTrue, L.NewTable()} {
		depth := MaxDepth
		if _, ok := leaf.(*lua.LTable); ok {
			depth-- // the empty leaf table is level 32 itself
		}
		v := nested(L, depth, leaf)
		b, err := Encode(nil, v)
		require.NoError(t, err)
		require.NoError(t, govalue.DecMode().Wellformed(b))
		got, err := Decode(L, b)
		require.NoError(t, err)
		requireLuaEqual(t, v, got)
	}
	// The host refuses 33 levels: the limits agree.
	b := append(append([]byte{}, []byte(strings.Repeat("\x81", MaxDepth+1))...), 0x01)
	require.Error(t, govalue.DecMode().Wellformed(b))
}

// TestSharedTablesAreNotCycles checks a DAG: the same table twice, off one path.
func TestSharedTablesAreNotCycles(t *testing.T) {
	L := newState(t)
	shared := eval(t, L, `{1, {x="y"}}`)
	v := L.NewTable()
	for range 3 {
		v.Append(shared)
	}
	v.RawSetString("again", L.NewTable())
	v.RawGetString("again").(*lua.LTable).RawSetString("s", shared)
	b, err := Encode(nil, v)
	require.NoError(t, err)
	got, err := Decode(L, b)
	require.NoError(t, err)
	requireLuaEqual(t, v, got)

	// A shared table that sits at level 32 on one path and deeper on another is
	// refused only on the deeper path.
	leaf := L.NewTable()
	leaf.RawSetString("k", lua.LTrue)
	okPath := nested(L, MaxDepth-1, leaf)
	_, err = Encode(nil, okPath)
	require.NoError(t, err)
	both := L.NewTable()
	both.RawSetString("ok", nested(L, MaxDepth-2, leaf))
	both.RawSetString("deep", nested(L, MaxDepth-1, leaf))
	_, err = Encode(nil, both)
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "value.deep"+strings.Repeat("[1]", MaxDepth-1), ve.Path)
}

// TestEncodeRefusesWhatDecodeRefuses: a table too sparse for Decode is refused at set
// time, so a stored value can always be read back.
func TestEncodeRefusesTooSparse(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	ok := L.NewTable()
	ok.RawSetH(lua.LNumber(maxPadding+1), lua.LTrue) // maxPadding holes: the limit
	b, err := Encode(nil, ok)
	require.NoError(t, err)
	_, err = Decode(L, b)
	require.NoError(t, err)

	bad := L.NewTable()
	inner := L.NewTable()
	inner.RawSetH(lua.LNumber(maxPadding+2), lua.LTrue)
	bad.RawSetString("x", inner)
	_, err = Encode(nil, bad)
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "value.x", ve.Path)
	require.Contains(t, ve.Reason, "too sparse")
}
