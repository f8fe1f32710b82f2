package abi

import (
	"fmt"
	"unicode/utf8"
)

// MaxErrorMessageBytes bounds the message of a run's outcome (OpFinish): a guest cuts a
// longer one before it sends it, and the host cuts what it receives, so a script that
// raises a 10 MB string cannot fill a log, a terminal or a caller's memory with it.
const MaxErrorMessageBytes = 8 << 10

// CutMessage returns msg if it is at most MaxErrorMessageBytes long, and otherwise its
// first bytes (never splitting a UTF-8 sequence) and a marker with the full length,
// "… [truncated, N bytes]", together at most MaxErrorMessageBytes long: so a message cut
// once, by the guest, is never cut again by the host.
func CutMessage(msg string) string {
	if len(msg) <= MaxErrorMessageBytes {
		return msg
	}
	marker := fmt.Sprintf("… [truncated, %d bytes]", len(msg))
	cut := MaxErrorMessageBytes - len(marker)
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + marker
}
