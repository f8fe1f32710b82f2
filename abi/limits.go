package abi

import (
	"math"
	"strconv"
)

// Every limit of the contract, in one place. The host enforces them; the guest checks
// what it can before it sends, with the same functions, so both sides word a failure
// the same way.
const (
	// MaxRequestBytes bounds the request length the host reads from guest memory. It is
	// checked before anything is read, so a guest cannot make the host copy more.
	MaxRequestBytes = 16 << 20

	// MaxValueDepth is the nesting a stored value may have: the top-level array or map
	// is level 1, a scalar level 0.
	MaxValueDepth = 32
	// MaxMessageDepth leaves room around a value for the envelope that carries it (a
	// response map, a page, its items array, an entry), so a value of MaxValueDepth
	// levels always fits in a message. The message map is level 1.
	MaxMessageDepth = MaxValueDepth + 8
	// MaxElements bounds the elements of one array and the pairs of one map. A larger
	// declared count is refused before anything is allocated for it.
	MaxElements = 1 << 20

	// MaxTTLSeconds is the longest ttl a store accepts: 100 years. A longer one is
	// almost certainly a unit mistake.
	MaxTTLSeconds = 3_153_600_000
	// MaxTTLMillis is MaxTTLSeconds in the wire's unit.
	MaxTTLMillis = MaxTTLSeconds * 1000

	// DefaultMaxKeyBytes and DefaultMaxValueBytes are a store's key and encoded value
	// size limits when its configuration sets none.
	DefaultMaxKeyBytes   = 1024
	DefaultMaxValueBytes = 1 << 20

	// DefaultListLimit is the page size when a list request gives none.
	DefaultListLimit = 100
	// MaxListLimit is the largest page size a list request may ask for.
	MaxListLimit = 1000
	// MaxPageBytes bounds the encoded keys and values of one page. A page that would
	// exceed it ends early with more set, so a page of large values still fits a response.
	MaxPageBytes = 8 << 20
)

// CheckKey applies the key rules: not empty, and at most maxKeyBytes long when
// maxKeyBytes > 0 (the guest does not know the store's limit and passes 0).
func CheckKey[K ~string | ~[]byte](key K, maxKeyBytes int) *Error {
	switch {
	case len(key) == 0:
		return NewError(Invalid, "key is empty")
	case maxKeyBytes > 0 && len(key) > maxKeyBytes:
		return NewError(Invalid, "key is "+strconv.Itoa(len(key))+" bytes, longer than max_key_bytes "+strconv.Itoa(maxKeyBytes))
	}
	return nil
}

// CheckTTL applies the ttl rule to a ttl in milliseconds, the wire's unit: 0 (no
// expiry) up to [MaxTTLMillis].
func CheckTTL(ms int64) *Error {
	switch {
	case ms < 0:
		return errTTLNegative()
	case ms > MaxTTLMillis:
		return errTTLTooLong()
	}
	return nil
}

// TTLMillis converts a ttl in seconds, as scripts give it, to the wire's whole
// milliseconds under the same rule as [CheckTTL], and refuses NaN and the infinities.
// Any positive ttl lasts at least 1 ms; rounding (not truncation) keeps 0.3 s at 300 ms
// despite float error.
func TTLMillis(seconds float64) (int64, *Error) {
	switch {
	case math.IsNaN(seconds) || math.IsInf(seconds, 0):
		return 0, NewError(Invalid, "ttl must be a finite number")
	case seconds < 0:
		return 0, errTTLNegative()
	case seconds > MaxTTLSeconds:
		return 0, errTTLTooLong()
	}
	ms := int64(math.Round(seconds * 1000))
	if seconds > 0 && ms == 0 {
		ms = 1
	}
	return ms, nil
}

func errTTLNegative() *Error { return NewError(Invalid, "ttl must not be negative") }

func errTTLTooLong() *Error {
	return NewError(Invalid, "ttl must be at most "+strconv.FormatInt(MaxTTLSeconds, 10)+" seconds (100 years)")
}

// CheckValue applies the value rules to an encoded value: present, at most
// maxValueBytes long when maxValueBytes > 0, and exactly one well-formed CBOR item
// within the value limits (nesting up to [MaxValueDepth], at most [MaxElements] per
// array or map, no tags, no indefinite lengths). It checks well-formedness, not
// validity: see docs/abi.md, "Values". The host stores values as opaque bytes after it.
func CheckValue(val []byte, maxValueBytes int) *Error {
	switch {
	case len(val) == 0:
		return NewError(Invalid, "value is required")
	case maxValueBytes > 0 && len(val) > maxValueBytes:
		return NewError(Invalid, "value: encoded value is "+strconv.Itoa(len(val))+" bytes, larger than max_value_bytes "+strconv.Itoa(maxValueBytes))
	}
	if err := wellFormedValue(val); err != nil {
		return NewError(Invalid, "value: "+err.Error())
	}
	return nil
}

// wellFormedValue reports whether b is exactly one item within the value limits.
func wellFormedValue(b []byte) error {
	d := NewDecoder(b)
	if err := d.Skip(0, MaxValueDepth); err != nil {
		return d.fail("value", err)
	}
	return d.end("value")
}
