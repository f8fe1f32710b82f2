// Package luacbor converts Lua values to CBOR and back inside the guest.
//
// The host keeps stored values as opaque CBOR bytes and only checks them with
// abi.CheckValue, so this codec is what decides how a Lua value looks to Go programs
// and to other guests. It is built on abi's CBOR head reader and writer and its number
// and depth rules, rather than on a reflection-based CBOR library, because it runs
// inside the wasm guest, where binary size and allocations are paid on every call, and
// because a Lua table needs rules no generic encoder knows: when a table is an array,
// which keys are storable, and a path to the bad part of a value.
//
// The rules (see the "Values" section of the wasmkv spec):
//   - nil is null, booleans are booleans;
//   - a number that is an integer within ±2^53 is a CBOR integer, so a Go reader gets an
//     int64; any other number is a float64, NaN and ±Inf included;
//   - a string that is valid UTF-8 is a text string, any other string a byte string, so
//     binary data survives and Go readers still get a string for text;
//   - a table whose keys are exactly 1..n (n >= 1) is an array, any other table a map
//     whose keys are strings or numbers; the empty table is an empty map;
//   - functions, userdata, threads, channels, cycles and nesting deeper than [MaxDepth]
//     cannot be stored and give a [*ValueError] that names the path to the bad part.
package luacbor

import (
	"strconv"

	"github.com/wasmkv/wasmkv/abi"
)

// MaxDepth is the deepest nesting a value may have; the top-level table is level 1.
// It is abi.MaxValueDepth, the limit the host enforces on stored values.
const MaxDepth = abi.MaxValueDepth

// maxDecodeDepth is the nesting Decode accepts. It is the message envelope limit
// (abi.MaxMessageDepth) rather than MaxDepth: the host has already bounded stored values
// to MaxDepth, and refusing something the ABI lets through would only turn a host-side
// limit into a confusing guest-side failure.
const maxDecodeDepth = abi.MaxMessageDepth

// ValueError is a value that cannot be stored. Path names the bad part, rooted at
// "value", in Lua syntax so a script author can find it: value, value.items[3],
// value.name, value["not an ident"], value[2.5].
type ValueError struct {
	Path   string
	Reason string
}

// Error returns "<Path>: <Reason>", the form the store module passes on to Lua.
func (e *ValueError) Error() string { return e.Path + ": " + e.Reason }

// DecodeError is CBOR input that Decode refuses: malformed, truncated, or using a
// feature stored values never use (tags, indefinite lengths, unknown simple values).
// Offset lets a test or a log point at the offending byte.
type DecodeError struct {
	Offset int
	Reason string
}

// Error returns "luacbor: <Reason> at offset <Offset>".
func (e *DecodeError) Error() string {
	return "luacbor: " + e.Reason + " at offset " + strconv.Itoa(e.Offset)
}
