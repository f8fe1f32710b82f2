// Package sdk is the guest side of the wasmkv ABI for Go programs built with
// GOOS=wasip1: the one implementation of the memory protocol, and a typed store API over
// it. The Lua guest uses it too. Outside wasm it builds, and every call fails.
package sdk

import (
	"bytes"
	"fmt"

	"github.com/wasmkv/wasmkv/abi"
)

// The buffers are reused across calls, so a store call allocates only what decoding needs.
var (
	reqBuf  bytes.Buffer
	respBuf = make([]byte, 64<<10)
)

// Call sends req and decodes the host's answer into resp. It returns resp.Err, or an
// Internal error when the exchange itself failed. A guest is single-threaded, and Call
// reuses its buffers: it must not be called concurrently.
func Call(req *abi.Request, resp *abi.Response) *abi.Error {
	reqBuf.Reset()
	if err := abi.EncMode.MarshalToBuffer(req, &reqBuf); err != nil {
		return abi.NewError(abi.Internal, "sdk: encoding request: "+err.Error())
	}
	n := callHost(reqBuf.Bytes(), respBuf)
	if n > int64(len(respBuf)) {
		respBuf = make([]byte, n)
		n = takeHost(respBuf)
	}
	if n < 0 {
		return abi.NewError(abi.Internal, fmt.Sprintf("sdk: host call failed: %v", abi.Status(n)))
	}
	*resp = abi.Response{}
	if err := abi.DecodeResponse(respBuf[:n], resp); err != nil {
		return abi.NewError(abi.Internal, "sdk: "+err.Error())
	}
	return resp.Err
}
