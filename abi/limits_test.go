package abi_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
)

// Hand-made hostile inputs, one per decode limit of abi/cbor.go and abi/codec.go. Each is written in hex
// with spaces between CBOR items, so a reader can check it against RFC 8949.

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

// Fragments used below.
const (
	opGet  = "62 6f70 05"          // "op": 5
	opSet  = "62 6f70 06"          // "op": 6
	valKey = "63 76616c"           // "val"
	keyKey = "63 6b6579"           // "key"
	idKey  = "62 6964"             // "id"
	arr1   = "81"                  // an array of one element
	empty  = "80"                  // the empty array
	tag0   = "c0"                  // tag 0 (date/time string)
	tooMny = "9a 00100001"         // an array declaring MaxElements+1 elements, and nothing after
	mapMny = "ba 00100001"         // a map declaring MaxElements+1 pairs
	huge   = "5b ffffffffffffffff" // a byte string declaring 2^64-1 bytes
)

// checkValue is abi.CheckValue without a size limit, as an error.
func checkValue(b []byte) error {
	if e := abi.CheckValue(b, 0); e != nil {
		return e
	}
	return nil
}

// requireDecodeError asserts that err is a *abi.DecodeError for what (for a value, an
// Invalid *abi.Error that carries one's message), whose message contains each of the
// fragments.
func requireDecodeError(t *testing.T, err error, what string, fragments ...string) {
	t.Helper()
	if what == "value" {
		var e *abi.Error
		require.True(t, errors.As(err, &e), "want *abi.Error, got %T: %v", err, err)
		require.Equal(t, abi.Invalid, e.Kind)
		for _, f := range fragments {
			require.ErrorContains(t, err, f)
		}
		return
	}
	var de *abi.DecodeError
	require.True(t, errors.As(err, &de), "want *abi.DecodeError, got %T: %v", err, err)
	require.Equal(t, what, de.What)
	require.ErrorContains(t, err, "abi: malformed "+what+": ")
	for _, f := range fragments {
		require.ErrorContains(t, err, f)
	}
}

func decodeRequest(t *testing.T, h string) error {
	t.Helper()
	var r abi.Request
	return abi.DecodeRequest(unhex(t, h), &r)
}

func decodeResponse(t *testing.T, h string) error {
	t.Helper()
	var r abi.Response
	return abi.DecodeResponse(unhex(t, h), &r)
}

// nested returns n arrays nested in each other around an empty array: n+1 levels.
func nested(n int) string { return strings.Repeat(arr1, n) + empty }

func TestLimitNesting(t *testing.T) {
	require.Equal(t, 40, abi.MaxMessageDepth)
	// The request map is level 1, so a value of MaxMessageDepth-1 levels reaches the limit.
	atLimit := "a2 " + opSet + " " + valKey + " " + nested(abi.MaxMessageDepth-2)
	overLimit := "a2 " + opSet + " " + valKey + " " + nested(abi.MaxMessageDepth-1)
	require.NoError(t, decodeRequest(t, atLimit))
	requireDecodeError(t, decodeRequest(t, overLimit), "request", "nesting deeper than 40 levels")

	// A field the host does not know is refused before its value is read.
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" 61 78 "+nested(abi.MaxMessageDepth-2)), "request", "unknown field")
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" 61 78 "+nested(abi.MaxMessageDepth-1)), "request", "unknown field")

	// Responses have the same bound.
	require.NoError(t, decodeResponse(t, "a1 "+valKey+" "+nested(abi.MaxMessageDepth-2)))
	requireDecodeError(t, decodeResponse(t, "a1 "+valKey+" "+nested(abi.MaxMessageDepth-1)), "response", "nesting deeper than 40 levels")

	// Maps count as arrays do: {"a": {"a": ... }}.
	maps := func(n int) string { return strings.Repeat("a1 6161 ", n) + "00" }
	require.NoError(t, decodeResponse(t, maps(abi.MaxMessageDepth)))
	requireDecodeError(t, decodeResponse(t, maps(abi.MaxMessageDepth+1)), "response", "nesting deeper than")
}

func TestLimitElements(t *testing.T) {
	require.Equal(t, 1<<20, abi.MaxElements)
	// A declared count over the limit is refused from its head alone: nothing follows it.
	requireDecodeError(t, decodeRequest(t, "a2 "+opSet+" "+valKey+" "+tooMny), "request",
		"more than 1048576 elements")
	requireDecodeError(t, decodeRequest(t, "a2 "+opSet+" "+valKey+" "+mapMny), "request",
		"more than 1048576 elements in an array or pairs in a map")
	requireDecodeError(t, decodeRequest(t, mapMny), "request", "pairs in a map")
	// A count of 2^64-1 is refused as well, before any arithmetic on it can overflow.
	requireDecodeError(t, decodeResponse(t, "a1 "+valKey+" 9b ffffffffffffffff"), "response", "more than 1048576")

	// Exactly MaxElements is accepted.
	head := unhex(t, "a2 "+opSet+" "+valKey+" 9a 00100000")
	b := append(head, make([]byte, abi.MaxElements)...) // MaxElements zeros
	var r abi.Request
	require.NoError(t, abi.DecodeRequest(b, &r))
	require.Len(t, []byte(r.Value), 5+abi.MaxElements)
	require.NoError(t, checkValue(r.Value))
	requireDecodeError(t, checkValue(append(unhex(t, tooMny), make([]byte, abi.MaxElements+1)...)), "value", "more than 1048576 elements")
}

func TestLimitDuplicateKeys(t *testing.T) {
	// {"op": 5, "op": 6}
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" "+opSet), "request", `duplicate map key "op"`)
	// Unknown keys are refused before duplicates are looked for: {"op": 5, "x": 1, "x": 2}.
	requireDecodeError(t, decodeRequest(t, "a3 "+opGet+" 6178 01 6178 02"), "request", "unknown field")
	// Inside a nested message map: {"op": 2, "err": {"kind": "Invalid", "kind": "Unknown", "msg": ""}}.
	requireDecodeError(t, decodeRequest(t,
		"a2 62 6f70 02 63 657272 a3 64 6b696e64 67 496e76616c6964 64 6b696e64 67 556e6b6e6f776e 63 6d7367 60"),
		"request", `duplicate map key "kind"`)
	// In a response as well: {"ok": true, "ok": false}.
	requireDecodeError(t, decodeResponse(t, "a2 626f6b f5 626f6b f4"), "response", "duplicate map key")
	// Field names match case-sensitively: "OP" is not the field op but an unknown field,
	// which a request may not have.
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" 62 4f50 06"), "request", "unknown field")
	requireDecodeError(t, decodeRequest(t, "a1 62 4f50 05"), "request", "unknown field")
}

func TestLimitIndefiniteLength(t *testing.T) {
	for name, c := range map[string]struct{ request, value, msg string }{
		"array":       {"a2 " + opSet + " " + valKey + " 9f 01 ff", "9f 01 ff", "indefinite-length items are not allowed"},
		"map":         {"bf " + opGet + " ff", "bf 6161 01 ff", "indefinite-length items are not allowed"},
		"byte string": {"a2 " + opGet + " " + keyKey + " 5f 41 61 ff", "5f 41 61 ff", "indefinite-length items are not allowed"},
		"text string": {"a2 62 6f70 03 " + idKey + " 7f 61 61 ff", "7f 61 61 ff", "indefinite-length items are not allowed"},
		"empty array": {"9f ff", "81 9f ff", "indefinite-length items are not allowed"},
	} {
		t.Run(name, func(t *testing.T) {
			requireDecodeError(t, decodeRequest(t, c.request), "request", c.msg)
			requireDecodeError(t, checkValue(unhex(t, c.value)), "value", c.msg)
		})
	}
	requireDecodeError(t, decodeResponse(t, "a1 "+valKey+" bf ff"), "response", "indefinite-length")
}

func TestLimitTags(t *testing.T) {
	// A tag around the whole message, around a field, and inside an embedded value.
	requireDecodeError(t, decodeRequest(t, tag0+" a1 "+opGet), "request", "tags are not allowed")
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" "+keyKey+" d8 18 41 61"), "request", "tags are not allowed")
	requireDecodeError(t, decodeRequest(t, "a2 "+opSet+" "+valKey+" c1 1a 5f5e1000"), "request", "tags are not allowed")
	// Bignums (tags 2 and 3) and self-described CBOR (55799) are tags like any other.
	requireDecodeError(t, decodeRequest(t, "a2 "+opSet+" "+valKey+" c2 41 01"), "request", "tag")
	requireDecodeError(t, decodeRequest(t, "d9 d9f7 a1 "+opGet), "request", "tag")
	requireDecodeError(t, decodeResponse(t, "a1 "+valKey+" "+tag0+" 60"), "response", "tag")
}

func TestLimitTrailingBytes(t *testing.T) {
	requireDecodeError(t, decodeRequest(t, "a1 "+opGet+" 00"), "request", "1 bytes after the request (at byte 5)")
	// Two requests back to back are one request and trailing bytes.
	requireDecodeError(t, decodeRequest(t, "a1 "+opGet+" a1 "+opGet), "request", "bytes after the")
	requireDecodeError(t, decodeResponse(t, "a0 a0"), "response", "bytes after the")
}

func TestLimitDeclaredLengthLongerThanData(t *testing.T) {
	// A key declaring 4 bytes with 2 present, and one declaring 2^64-1 bytes with 1.
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" "+keyKey+" 44 0102"), "request", "longer than the input")
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" "+keyKey+" 5a 7fffffff 00"), "request", "longer than the input")
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" "+keyKey+" "+huge+" 00"), "request", "longer than the input")
	// A map declaring more pairs than follow, and a text string cut short.
	requireDecodeError(t, decodeRequest(t, "a3 "+opGet), "request", "longer than the input")
	requireDecodeError(t, decodeRequest(t, "a2 62 6f70 03 "+idKey+" 69 6170"), "request", "longer than the input")
	requireDecodeError(t, decodeResponse(t, "a1 "+valKey+" 5a ffffffff"), "response", "longer than the input")
	// The empty input.
	requireDecodeError(t, decodeRequest(t, ""), "request", "unexpected end of input")
	requireDecodeError(t, checkValue(unhex(t, huge)), "value", "longer than the input")
}

func TestLimitInvalidUTF8(t *testing.T) {
	// "id": "\xc3(" (a truncated two-byte sequence), a map key "\xff", and an error message.
	requireDecodeError(t, decodeRequest(t, "a2 62 6f70 03 "+idKey+" 62 c328"), "request", "invalid UTF-8")
	requireDecodeError(t, decodeRequest(t, "a2 "+opGet+" 61 ff 01"), "request", "invalid UTF-8")
	requireDecodeError(t, decodeRequest(t, "a2 62 6f70 02 63 657272 a2 64 6b696e64 67 556e6b6e6f776e 63 6d7367 61 80"),
		"request", "invalid UTF-8")
	requireDecodeError(t, decodeResponse(t, "a1 64 696e666f a1 62 6964 61 fe"), "response", "invalid UTF-8")
	// A byte string holds any bytes: the same bytes as a key are fine.
	require.NoError(t, decodeRequest(t, "a2 "+opGet+" "+keyKey+" 42 c328"))
}

func TestLimitWrongTypes(t *testing.T) {
	// Not a limit of its own, but what a guest in another language meets first: each field
	// has one CBOR type, and another is a DecodeError rather than a conversion.
	for name, c := range map[string]struct{ hex, msg string }{
		"key as text":     {"a2 " + opGet + " " + keyKey + " 61 6b", "key: byte string expected, got text string"},
		"op too large":    {"a1 62 6f70 19 012c", "op: 300 is larger than 255"},
		"negative handle": {"a2 " + opGet + " 61 68 20", "h: unsigned integer expected, got negative integer"},
		"ttl as float":    {"a2 " + opSet + " 63 74746c fb 408f400000000000", "ttl: integer expected, got float"},
		"absent as int":   {"a2 62 6f70 0a 66 616273656e74 01", "absent: bool expected, got unsigned integer"},
		"message array":   {"82 62 6f70 05", "map expected, got array"},
		"simple as int":   {"a1 62 6f70 e5", "op: unsigned integer expected, got simple value 5"},
		"array as bytes":  {"a2 " + opGet + " " + keyKey + " 82 01 02", "key: byte string expected, got array"},
		"null key":        {"a2 " + opGet + " " + keyKey + " f6", "key: byte string expected, got null"},
		"no op":           {"a1 " + keyKey + " 41 6b", `missing field "op"`},
	} {
		t.Run(name, func(t *testing.T) {
			requireDecodeError(t, decodeRequest(t, c.hex), "request", c.msg)
		})
	}
	// Null stands for absent where the CDDL allows it: ifver and err.
	var r abi.Request
	require.NoError(t, abi.DecodeRequest(unhex(t, "a3 62 6f70 0a 65 6966766572 f6 63 657272 f6"), &r))
	require.Nil(t, r.IfVersion)
	require.Nil(t, r.Err)
}

func TestCheckValueLimits(t *testing.T) {
	require.Equal(t, 32, abi.MaxValueDepth)
	// Depth: the top-level array or map is level 1.
	require.NoError(t, checkValue(unhex(t, nested(abi.MaxValueDepth-1))))
	requireDecodeError(t, checkValue(unhex(t, nested(abi.MaxValueDepth))), "value", "nesting deeper than 32 levels")
	mixed := strings.Repeat("a1 6161 81 ", abi.MaxValueDepth/2) // 32 levels of map, array, map, ...
	require.NoError(t, checkValue(unhex(t, mixed+"00")))
	requireDecodeError(t, checkValue(unhex(t, mixed+"80")), "value", "nesting deeper than")
	// Scalars have no depth.
	require.NoError(t, checkValue(unhex(t, "00")))

	// Empty input.
	requireDecodeError(t, checkValue(nil), "value", "value is required")
	requireDecodeError(t, checkValue([]byte{}), "value", "value is required")
	// Trailing bytes: a value is exactly one item.
	requireDecodeError(t, checkValue(unhex(t, "01 02")), "value", "bytes after the")
	requireDecodeError(t, checkValue(unhex(t, "a0 a0")), "value", "bytes after the")
	// The other message limits hold for values too.
	requireDecodeError(t, checkValue(unhex(t, "c1 00")), "value", "tag")
	requireDecodeError(t, checkValue(unhex(t, "bf ff")), "value", "indefinite-length")
	requireDecodeError(t, checkValue(unhex(t, tooMny)), "value", "more than 1048576 elements")
	requireDecodeError(t, checkValue(unhex(t, "44 00")), "value", "longer than the input")
	requireDecodeError(t, checkValue(unhex(t, "ff")), "value", "break")
	requireDecodeError(t, checkValue(unhex(t, "1c")), "value", "additional information")
	requireDecodeError(t, checkValue(unhex(t, "f8 10")), "value", "simple value")
}

// TestCheckValueDoesNotCatch documents what CheckValue lets through today: it checks
// well-formedness (RFC 8949 §5.3.1) within the limits, not validity (§5.3.2). The host
// stores such values as they are; docs/abi.md tells guests not to send them.
func TestCheckValueDoesNotCatch(t *testing.T) {
	for name, h := range map[string]string{
		"invalid UTF-8 in a text string": "61 ff",
		"invalid UTF-8 in a map key":     "a1 62 c328 01",
		"duplicate map key":              "a2 6161 01 6161 02",
		"map key that is an array":       "a1 80 01",
		"simple value 0":                 "e0",
		"simple value 255":               "f8 ff",
		"undefined":                      "f7",
		"non-shortest integer head":      "1b 0000000000000001",
		"half-precision NaN":             "f9 7e00",
		"integer beyond int64":           "1b ffffffffffffffff",
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, checkValue(unhex(t, h)))
		})
	}
	// The request decoder does not look inside a value either: the invalid UTF-8 and the
	// duplicate key above pass DecodeRequest inside "val" (but not outside it).
	require.NoError(t, decodeRequest(t, "a2 "+opSet+" "+valKey+" 61 ff"))
	require.NoError(t, decodeRequest(t, "a2 "+opSet+" "+valKey+" a2 6161 01 6161 02"))
}

func TestCutMessage(t *testing.T) {
	short := strings.Repeat("x", abi.MaxErrorMessageBytes)
	if got := abi.CutMessage(short); got != short {
		t.Errorf("a message at the bound was changed")
	}
	long := strings.Repeat("é", abi.MaxErrorMessageBytes) // 2 bytes each
	got := abi.CutMessage(long)
	marker := fmt.Sprintf("… [truncated, %d bytes]", len(long))
	if !strings.HasSuffix(got, marker) || len(got) > abi.MaxErrorMessageBytes || len(got) < abi.MaxErrorMessageBytes-len(marker)-1 {
		t.Errorf("got %d bytes ending %q", len(got), got[len(got)-40:])
	}
	if again := abi.CutMessage(got); again != got {
		t.Errorf("a cut message was cut again")
	}
	odd := "a" + long // the bound may fall inside an é either way
	for _, s := range []string{long, odd} {
		if got := abi.CutMessage(s); !utf8.ValidString(got) {
			t.Errorf("cut inside a UTF-8 sequence: %q", got[len(got)-40:])
		}
	}
}
