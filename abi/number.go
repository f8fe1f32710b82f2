package abi

import (
	"math"

	"github.com/fxamacker/cbor/v2"
)

// MaxExactInt is the largest magnitude of an integer that a float64, and so a Lua number,
// holds exactly. Integers within it are stored as CBOR integers; any other number as a
// float64.
const MaxExactInt = 1 << 53

// EncodeNumber encodes f by the storage rule for numbers.
func EncodeNumber(f float64) cbor.RawMessage {
	var b []byte
	var err error
	if f == math.Trunc(f) && math.Abs(f) <= MaxExactInt {
		b, err = EncMode.Marshal(int64(f))
	} else {
		b, err = EncMode.Marshal(f)
	}
	if err != nil {
		panic("abi: encoding a number cannot fail: " + err.Error())
	}
	return b
}

// DecodeNumber returns the number a stored value holds; ok is false for any other value.
func DecodeNumber(b []byte) (f float64, ok bool) {
	var v any
	if err := ValueDecMode.Unmarshal(b, &v); err != nil {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}
