//go:build wasip1

package hostcall

import (
	"runtime"
	"unsafe"

	"github.com/wasmkv/wasmkv/abi"
)

//go:wasmimport wasmkv_v1 call
func importCall(reqPtr unsafe.Pointer, reqLen uint32, respPtr unsafe.Pointer, respCap uint32) int64

//go:wasmimport wasmkv_v1 take
func importTake(respPtr unsafe.Pointer, respCap uint32) int64

// The import module name above must equal abi.ModuleName; the host refuses any other.
var _ = abi.ModuleName

func callHost(req, resp []byte) int64 {
	n := importCall(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)),
		unsafe.Pointer(unsafe.SliceData(resp)), uint32(len(resp)))
	runtime.KeepAlive(req)
	runtime.KeepAlive(resp)
	return n
}

func takeHost(resp []byte) int64 {
	n := importTake(unsafe.Pointer(unsafe.SliceData(resp)), uint32(len(resp)))
	runtime.KeepAlive(resp)
	return n
}
