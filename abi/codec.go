package abi

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Limits of the CBOR decoders. They bound what a hostile peer can make a decoder do.
const (
	// MaxValueDepth is the nesting a stored value may have: the top-level table is level 1.
	MaxValueDepth = 32
	// MaxMessageDepth leaves room around a value for the envelope that carries it (a
	// request or response map, and later a page of entries), so a value of
	// MaxValueDepth levels always fits in a message.
	MaxMessageDepth = MaxValueDepth + 8
	// MaxElements bounds the elements of one array and the pairs of one map. A larger
	// declared count is refused before anything is allocated for it.
	MaxElements = 1 << 20
)

var (
	// EncMode encodes messages. It is deterministic (map keys sorted as RFC 8949 §4.2.1
	// says, shortest integer heads, floats always as float64), so one message always has
	// one encoding and test vectors are stable. Absent byte strings and arrays are empty,
	// never null.
	EncMode cbor.UserBufferEncMode
	// DecMode decodes messages. It refuses: nesting deeper than [MaxMessageDepth];
	// arrays or maps with more than [MaxElements] entries; duplicate map keys; field
	// names that differ from the documented ones, even only in case, and unknown fields
	// (a misspelt condition must not turn a conditional put into a plain one);
	// indefinite-length items (each length is known up front, so a bound can be checked
	// before reading); every tag; invalid UTF-8 in text strings; and trailing bytes
	// after the message. A declared length longer than the data is an error too.
	DecMode cbor.DecMode
	// ResponseDecMode decodes responses. It has the limits of [DecMode] but ignores
	// fields it does not know, so a newer host may add response fields without breaking
	// older guests.
	ResponseDecMode cbor.DecMode
	// ValueDecMode checks and decodes stored values. It has the limits of [DecMode],
	// with nesting bounded by [MaxValueDepth], and decodes integers to int64.
	ValueDecMode cbor.DecMode
)

func init() {
	var err error
	if EncMode, err = (cbor.EncOptions{Sort: cbor.SortCoreDeterministic, ShortestFloat: cbor.ShortestFloatNone,
		NilContainers: cbor.NilContainerAsEmpty}).UserBufferEncMode(); err != nil {
		panic(err)
	}
	opts := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  MaxMessageDepth,
		MaxArrayElements: MaxElements,
		MaxMapPairs:      MaxElements,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		IntDec:           cbor.IntDecConvertSigned,
		UTF8:             cbor.UTF8RejectInvalid,
	}
	msgOpts := opts
	msgOpts.FieldNameMatching = cbor.FieldNameMatchingCaseSensitive
	msgOpts.ExtraReturnErrors = cbor.ExtraDecErrorUnknownField
	if DecMode, err = msgOpts.DecMode(); err != nil {
		panic(err)
	}
	msgOpts.ExtraReturnErrors = cbor.ExtraDecErrorNone
	if ResponseDecMode, err = msgOpts.DecMode(); err != nil {
		panic(err)
	}
	opts.MaxNestedLevels = MaxValueDepth
	if ValueDecMode, err = opts.DecMode(); err != nil {
		panic(err)
	}
}

// DecodeError is a message that could not be decoded.
type DecodeError struct {
	What string // "request", "response", "value"
	Err  error
}

// Error says what could not be decoded and why.
func (e *DecodeError) Error() string { return fmt.Sprintf("abi: malformed %s: %v", e.What, e.Err) }

// Unwrap returns the decoder's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// DecodeRequest decodes one request with [DecMode]; trailing bytes are an error.
func DecodeRequest(b []byte, r *Request) error {
	if err := DecMode.Unmarshal(b, r); err != nil {
		return &DecodeError{What: "request", Err: err}
	}
	return nil
}

// DecodeResponse decodes one response with [ResponseDecMode]; trailing bytes are an error.
func DecodeResponse(b []byte, r *Response) error {
	if err := ResponseDecMode.Unmarshal(b, r); err != nil {
		return &DecodeError{What: "response", Err: err}
	}
	return nil
}

// CheckValue reports whether b is exactly one well-formed value within the value
// limits. The host stores values as opaque bytes after this check.
func CheckValue(b []byte) error {
	if len(b) == 0 {
		return &DecodeError{What: "value", Err: fmt.Errorf("empty")}
	}
	if err := ValueDecMode.Wellformed(b); err != nil {
		return &DecodeError{What: "value", Err: err}
	}
	return nil
}
