package host

import "context"

// Call runs s as Run does, with input (one value in the value encoding, as stored values
// are) passed to the script as its first argument before s.Args, and returns the
// script's first return value in the same encoding.
//
// The outcomes: success gives the value and a nil error (the null value when the script
// returned nothing); a script that returned nil, err gives the null value and the
// *RunError; a script that raised an error, or a run the host stopped, gives a nil
// value and the error. So a caller can answer a returned error differently from a
// raised one. A guest that predates results sends none: its successful runs give a nil
// value.
func (h *Host) Call(ctx context.Context, s Script, input []byte) ([]byte, error) {
	var result []byte
	s.input, s.result = input, &result
	err := h.Run(ctx, s)
	return result, err
}
