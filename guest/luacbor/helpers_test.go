package luacbor

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	lua "github.com/yuin/gopher-lua"
)

// newState returns a Lua state with the standard libraries, closed with the test.
func newState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	return L
}

// eval runs "return <expr>" and returns the single result, so test cases can be
// written as Lua table constructors.
func eval(t testing.TB, L *lua.LState, expr string) lua.LValue {
	t.Helper()
	require.NoError(t, L.DoString("return "+expr), expr)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// luaDiff returns "" if a and b are equal Lua values, compared deeply with NaN equal
// to NaN (raw access, no metamethods), and otherwise a description of the first
// difference found.
func luaDiff(a, b lua.LValue) string {
	return diffAt("value", a, b, 0)
}

func diffAt(path string, a, b lua.LValue, depth int) string {
	if depth > 64 {
		return path + ": too deep to compare (cycle?)"
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: type %s != %s (%s vs %s)", path, a.Type(), b.Type(), show(a), show(b))
	}
	switch av := a.(type) {
	case lua.LNumber:
		bv := b.(lua.LNumber)
		if av == bv || (math.IsNaN(float64(av)) && math.IsNaN(float64(bv))) {
			return ""
		}
		return fmt.Sprintf("%s: %v != %v", path, av, bv)
	case *lua.LTable:
		bt := b.(*lua.LTable)
		na, nb := 0, 0
		var diff string
		av.ForEach(func(k, v lua.LValue) {
			na++
			if diff == "" {
				diff = diffAt(fmt.Sprintf("%s[%s]", path, show(k)), v, bt.RawGet(k), depth+1)
			}
		})
		bt.ForEach(func(lua.LValue, lua.LValue) { nb++ })
		if diff != "" {
			return diff
		}
		if na != nb {
			return fmt.Sprintf("%s: %d keys != %d keys (%s vs %s)", path, na, nb, show(a), show(b))
		}
		return ""
	default:
		if a != b {
			return fmt.Sprintf("%s: %s != %s", path, show(a), show(b))
		}
		return ""
	}
}

// requireLuaEqual fails the test if the values differ.
func requireLuaEqual(t testing.TB, want, got lua.LValue, msgAndArgs ...any) {
	t.Helper()
	if d := luaDiff(want, got); d != "" {
		require.Fail(t, "Lua values differ: "+d+"\nwant "+show(want)+"\ngot  "+show(got), msgAndArgs...)
	}
}

// show renders a value for failure messages, with sorted keys so messages are stable.
func show(v lua.LValue) string {
	var b strings.Builder
	showTo(&b, v, 0)
	return b.String()
}

func showTo(b *strings.Builder, v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		fmt.Fprintf(b, "%q", string(v))
	case *lua.LTable:
		if depth > 40 {
			b.WriteString("{...}")
			return
		}
		var parts []string
		v.ForEach(func(k, val lua.LValue) {
			var kb, vb strings.Builder
			showTo(&kb, k, depth+1)
			showTo(&vb, val, depth+1)
			parts = append(parts, "["+kb.String()+"]="+vb.String())
		})
		sort.Strings(parts)
		b.WriteString("{" + strings.Join(parts, ", ") + "}")
	default:
		b.WriteString(v.String())
	}
}

// nested returns n tables nested inside each other as array element 1, the
// innermost holding leaf.
func nested(L *lua.LState, n int, leaf lua.LValue) lua.LValue {
	v := leaf
	for range n {
		t := L.NewTable()
		t.RawSetInt(1, v)
		v = t
	}
	return v
}

// Names of abi's CBOR primitives, as the tests use them.
const (
	majorUint   = abi.MajorUint
	majorNegInt = abi.MajorNeg
	majorBytes  = abi.MajorBytes
	majorText   = abi.MajorText
	majorArray  = abi.MajorArray
	majorMap    = abi.MajorMap
	majorSimple = abi.MajorSimple
)

func appendHead(b []byte, major byte, n uint64) []byte { return abi.AppendHead(b, major, n) }

// floatArg is the value of a float head of additional information ai.
func floatArg(ai byte, arg uint64) float64 {
	return abi.Head{Major: abi.MajorSimple, Info: ai, Arg: arg}.Float()
}

func halfToFloat64(h uint16) float64 { return floatArg(25, uint64(h)) }
