package luacbor

import (
	"errors"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestEncodeLimit: a value stops encoding once it passes its limit, so a table that
// holds one subtable twice per level, twenty levels deep (2^20 leaves, 3 MiB encoded),
// costs at most the limit's worth of work; a value within the limit is unchanged.
func TestEncodeLimit(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	if err := L.DoString(`dag = "x" for i = 1, 20 do dag = {dag, dag} end
small = {a = 1, b = "two", c = {3}}`); err != nil {
		t.Fatal(err)
	}
	full, err := Encode(nil, L.GetGlobal("dag"))
	if err != nil || len(full) != 3145727 {
		t.Fatalf("unlimited: %d bytes, %v", len(full), err)
	}
	prefix := []byte("request head")
	out, err := EncodeLimit(prefix, L.GetGlobal("dag"), 1<<20)
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Error() != "value: encoded value is larger than max_value_bytes 1048576" {
		t.Fatalf("got %v", err)
	}
	if string(out) != "request head" {
		t.Errorf("dst was extended on failure: %d bytes", len(out))
	}
	want, _ := Encode(nil, L.GetGlobal("small"))
	for _, limit := range []int{0, len(want)} {
		got, err := EncodeLimit(nil, L.GetGlobal("small"), limit)
		if err != nil || string(got) != string(want) {
			t.Errorf("limit %d: %x, %v", limit, got, err)
		}
	}
	if _, err := EncodeLimit(nil, L.GetGlobal("small"), len(want)-1); err == nil {
		t.Errorf("a value one byte past its limit was accepted")
	}
	if _, err := EncodeLimit(nil, lua.LString("0123456789"), 5); err == nil {
		t.Errorf("a string past the limit was accepted")
	}
}
