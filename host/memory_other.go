//go:build !linux

package host

import "errors"

var errNoReservation = errors.New("host: no memory reservation on this system")

// reserve is not available here: memories grow by copying, as wazero does by default.
func reserve(uint64) ([]byte, error) { return nil, errNoReservation }

func release([]byte) {}

func imageFile([]byte) (int, []byte, error) { return -1, nil, errNoReservation }

func closeImageFile(int) {}

func mapImage([]byte, int, int) error { return errNoReservation }

func zeroPages(buf []byte) error {
	clear(buf)
	return nil
}

// canMapImages: elsewhere instances copy the snapshot.
const canMapImages = false

// writtenPages is not known here: every page counts as written.
func writtenPages(buf []byte, entries []byte, fn func(off, n int)) ([]byte, error) {
	fn(0, len(buf))
	return entries, nil
}

func prefault([]byte) {}

func releaseView([]byte) {}
