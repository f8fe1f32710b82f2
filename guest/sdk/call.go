// Package sdk is the guest side of the wasmkv ABI for Go programs built with
// GOOS=wasip1: the one implementation of the memory protocol, and a typed store API over
// it. The Lua guest uses it too. Outside wasm it builds, and every call fails.
package sdk

import (
	"bytes"
	"fmt"

	"github.com/wasmkv/wasmkv/abi"
)

// The buffers are reused across calls, and the messages go through abi's hand-written
// codec (abi.AppendRequest, abi.ReadResponse) rather than fxamacker's reflection, so a
// store call allocates only what its result needs: inside wasm, reflection and
// allocation are what a store call would otherwise spend most on.
var (
	reqBuf  = make([]byte, 0, 4<<10)
	respBuf = make([]byte, 64<<10)
)

// Call sends req and decodes the host's answer into resp. It returns resp.Err, or an
// Internal error when the exchange itself failed. A guest is single-threaded, and Call
// reuses its buffers: it must not be called concurrently.
//
// The byte slices of resp (Value, Entry.Key and Entry.Value, Page.Cursor and the items'
// keys and values) point into Call's response buffer, which the next Call overwrites:
// use or copy them before calling again. Strings, resp.Err and resp.Task are the
// caller's to keep (Call copies the task's bytes, since the task lasts the whole run).
func Call(req *abi.Request, resp *abi.Response) *abi.Error {
	reqBuf = abi.AppendRequest(reqBuf[:0], req)
	if len(reqBuf) > abi.MaxRequestBytes {
		// The host would refuse to read it (StatusTooLarge): that is the caller's key or
		// value, not a failure of the exchange.
		return abi.NewError(abi.Invalid, fmt.Sprintf("request is %d bytes, more than the %d a request may carry: the key or value is too large", len(reqBuf), abi.MaxRequestBytes))
	}
	n := callHost(reqBuf, respBuf)
	if n > int64(len(respBuf)) {
		respBuf = make([]byte, n)
		n = takeHost(respBuf)
	}
	if n < 0 {
		return abi.NewError(abi.Internal, fmt.Sprintf("sdk: host call failed: %v", abi.Status(n)))
	}
	if n > int64(len(respBuf)) {
		// take promised the length that call returned; a host that breaks that must not
		// make the guest slice past its buffer.
		return abi.NewError(abi.Internal, fmt.Sprintf("sdk: host returned %d bytes for a %d-byte buffer", n, len(respBuf)))
	}
	if err := abi.ReadResponse(respBuf[:n], resp); err != nil {
		return abi.NewError(abi.Internal, "sdk: "+err.Error())
	}
	if t := resp.Task; t != nil {
		t.Source = bytes.Clone(t.Source)
		for i, a := range t.Args {
			t.Args[i] = bytes.Clone(a)
		}
	}
	return resp.Err
}
