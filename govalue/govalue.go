// Package govalue converts Go values to stored values and back with fxamacker/cbor: the
// Go store API of package host and the Go guest SDK (guest/sdk) use it, so that a Go
// program reads what a Lua script wrote and the other way round. It is a package of its
// own, apart from abi, because reflecting over arbitrary Go values is what fxamacker is
// for, while the contract's envelope codec (abi) is the standard library only, and the
// Lua guest must not link a reflection codec it does not need.
package govalue

import (
	"github.com/fxamacker/cbor/v2"

	"github.com/wasmkv/wasmkv/abi"
)

// The modes are unexported and built once: nothing an importer does can change them.
var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	// Deterministic (map keys sorted as RFC 8949 §4.2.1 says, shortest integer heads),
	// and floats always as float64, NaN and the infinities too: the contract's one float
	// width. Absent byte strings and arrays are empty, never null.
	if encMode, err = (cbor.EncOptions{Sort: cbor.SortCoreDeterministic, ShortestFloat: cbor.ShortestFloatNone,
		NaNConvert: cbor.NaNConvertNone, InfConvert: cbor.InfConvertNone,
		NilContainers: cbor.NilContainerAsEmpty}).EncMode(); err != nil {
		panic(err)
	}
	// The value limits of abi.CheckValue, and integers to int64.
	if decMode, err = (cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  abi.MaxValueDepth,
		MaxArrayElements: abi.MaxElements,
		MaxMapPairs:      abi.MaxElements,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		IntDec:           cbor.IntDecConvertSigned,
		UTF8:             cbor.UTF8RejectInvalid,
	}).DecMode(); err != nil {
		panic(err)
	}
}

// Marshal encodes v as a stored value.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// Unmarshal decodes the stored value b into v, a pointer, within the value limits.
func Unmarshal(b []byte, v any) error { return decMode.Unmarshal(b, v) }

// EncMode returns the encoding mode of Marshal, for callers that stream or compare.
func EncMode() cbor.EncMode { return encMode }

// DecMode returns the decoding mode of Unmarshal.
func DecMode() cbor.DecMode { return decMode }
