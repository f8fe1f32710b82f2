package luacbor

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// benchValue is the small map stores hold most often: a few fields and a short list.
func benchValue(b *testing.B, L *lua.LState) lua.LValue {
	b.Helper()
	return eval(b, L, `{name="Alice", age=30, tags={"a","b"}}`)
}

func BenchmarkEncode(b *testing.B) {
	L := newState(b)
	v := benchValue(b, L)
	buf, err := Encode(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		// Reusing the buffer is how the store module calls it.
		if buf, err = Encode(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	L := newState(b)
	buf, err := Encode(nil, benchValue(b, L))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(L, buf); err != nil {
			b.Fatal(err)
		}
	}
}
