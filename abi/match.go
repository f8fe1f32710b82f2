package abi

// Error returns the kind's name. It makes a Kind a target for errors.Is, so that Go
// callers match an error's kind as scripts do with errors.is(err, kind):
//
//	if errors.Is(err, abi.Conflict) { /* re-read and retry */ }
func (k Kind) Error() string { return string(k) }

// Is reports whether target is the kind of e (see Kind.Error), so that errors.Is finds
// the kind of an *Error anywhere in a chain of wrapped errors.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && e.Kind == k
}
