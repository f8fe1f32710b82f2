package host

import "github.com/wasmkv/wasmkv/engine"

// Test hooks: the snapshot's image and reset modes, so tests run every mechanism on
// every system that has it.

// WithSnapshotMode selects how instances get the snapshot ("map" or "copy") and how
// they go back to it after a run ("copy", "written", "remap" or "recycle"); "off" for image turns
// snapshots off.
func WithSnapshotMode(img, reset string) Option {
	return func(o *options) {
		switch img {
		case "off":
			o.snapshot.off = true
		case "map":
			o.snapshot.mode = imageMapped
		case "copy":
			o.snapshot.mode = imageCopied
		}
		switch reset {
		case "copy":
			o.snapshot.reset = resetCopy
		case "remap":
			o.snapshot.reset = resetRemap
		case "recycle":
			o.snapshot.reset = resetRecycle
		case "written":
			o.snapshot.reset = resetWritten
		}
	}
}

// GuestLimits exposes guestLimits to the external tests.
var GuestLimits = guestLimits

// StoreEngine hands the external tests a store's engine, so a test can put bytes in a
// store that no caller of the API could (a corrupt value, as a bug or another program
// writing to a shared Redis would). It exists only in the test binary.
func StoreEngine(s *Store) engine.Engine { return s.engine }
