package abi

import "strings"

// Kind classifies an error. The values are the strings that Lua sees as the constants of
// the errors module (errors.INVALID == "Invalid").
type Kind string

// The error kinds.
const (
	Invalid          Kind = "Invalid"
	NotFound         Kind = "NotFound"
	AlreadyExists    Kind = "AlreadyExists"
	PermissionDenied Kind = "PermissionDenied"
	Unavailable      Kind = "Unavailable"
	Internal         Kind = "Internal"
	Canceled         Kind = "Canceled"
	Conflict         Kind = "Conflict"
	Timeout          Kind = "Timeout"
	RateLimited      Kind = "RateLimited"
	Unknown          Kind = "Unknown"
)

// KindName is a kind and the name of its constant in the Lua errors module.
type KindName struct {
	Name string
	Kind Kind
}

// kindNames is the fixed order of the kinds; an array, so that no importer can change it.
var kindNames = [...]KindName{
	{"INVALID", Invalid}, {"NOT_FOUND", NotFound}, {"ALREADY_EXISTS", AlreadyExists},
	{"PERMISSION_DENIED", PermissionDenied}, {"UNAVAILABLE", Unavailable},
	{"INTERNAL", Internal}, {"CANCELED", Canceled}, {"CONFLICT", Conflict},
	{"TIMEOUT", Timeout}, {"RATE_LIMITED", RateLimited}, {"UNKNOWN", Unknown},
}

// KindNames returns each constant name of the Lua errors module with its kind, in a
// fixed order. The slice is the caller's.
func KindNames() []KindName { return append([]KindName(nil), kindNames[:]...) }

// ParseKind accepts a kind by its constant name ("NOT_FOUND") or by its value
// ("NotFound"), ignoring case. ok is false for anything else.
func ParseKind(s string) (k Kind, ok bool) {
	for _, n := range kindNames {
		if strings.EqualFold(s, n.Name) || strings.EqualFold(s, string(n.Kind)) {
			return n.Kind, true
		}
	}
	return "", false
}

// Valid reports whether k is exactly one of the kinds above.
func (k Kind) Valid() bool {
	for _, n := range kindNames {
		if k == n.Kind {
			return true
		}
	}
	return false
}

// Retryable reports whether errors of this kind are retryable by default.
func (k Kind) Retryable() bool {
	return k == Unavailable || k == Timeout || k == RateLimited
}

// Error is an error as it crosses the ABI and reaches Lua. (The struct tags of the
// message types name their wire keys; this package's codec does not read them, but
// generic CBOR encoders, and the differential tests' oracle, do.)
type Error struct {
	Kind      Kind   `cbor:"kind"`
	Message   string `cbor:"msg"`
	Retryable bool   `cbor:"retry,omitempty"`
}

// NewError returns an error of kind k with that kind's default retryable flag.
func NewError(k Kind, msg string) *Error {
	return &Error{Kind: k, Message: msg, Retryable: k.Retryable()}
}

// Error returns "<Kind>: <message>", as tostring(err) does in Lua.
func (e *Error) Error() string { return string(e.Kind) + ": " + e.Message }
