package host

import "github.com/wasmkv/wasmkv/engine"

// GuestLimits exposes guestLimits to the external tests.
var GuestLimits = guestLimits

// StoreEngine hands the external tests a store's engine, so a test can put bytes in a
// store that no caller of the API could (a corrupt value, as a bug or another program
// writing to a shared Redis would). It exists only in the test binary.
func StoreEngine(s *Store) engine.Engine { return s.engine }
