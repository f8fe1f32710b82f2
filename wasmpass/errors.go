package wasmpass

import "fmt"

// Error is a module the pass refused because it is malformed or uses something the
// pass does not support (an unknown opcode, a section out of order, a truncated
// LEB128, ...). Where names the place: a section, a function, a byte offset.
// Neither Error nor LimitError is retryable: the same bytes are refused the same way.
type Error struct {
	Where  string
	Offset int // byte offset in the input, -1 when unknown
	Msg    string
}

func (e *Error) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("wasmpass: %s at offset %d: %s", e.Where, e.Offset, e.Msg)
	}
	return fmt.Sprintf("wasmpass: %s: %s", e.Where, e.Msg)
}

// LimitError is a module the pass refused because it exceeds one of Limits.
type LimitError struct {
	Limit  string // the Limits field, e.g. "MaxLocalsPerFunction"
	Where  string
	Offset int
	Value  uint64 // what the module declares (or a lower bound of it)
	Max    uint64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("wasmpass: %s at offset %d: %d exceeds %s (%d)", e.Where, e.Offset, e.Value, e.Limit, e.Max)
}
