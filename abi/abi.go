// Package abi is the wire contract between a wasmkv host and the guest modules it runs.
//
// A guest imports functions from the host module [ModuleName]. It sends a request as
// CBOR ([Request]) by passing (ptr, len) of the encoded bytes and a response buffer
// (ptr, cap) that the host writes the encoded [Response] into. When the response does
// not fit, the host keeps it and returns its length; the guest then calls [FuncTake]
// with a buffer at least that large. The host never calls back into the guest while a
// host call is running.
//
// The package is pure Go with no dependency outside the standard library, and builds
// for linux and for wasip1: the host, the guest and the benchmarks share its types, its
// limits, its checks and its one CBOR codec ([DecodeRequest], [AppendResponse], ...), so
// the sides cannot drift apart. It exports no variables: nothing an importer does can
// change the contract.
package abi

// Version is the ABI version that this package describes. It is part of the host
// module name, so a guest built against another version fails to instantiate with a
// clear error instead of misreading messages.
const Version = 1

// ModuleName is the wasm import module name of the host functions.
const ModuleName = "wasmkv_v1"

// Host function names, all imported from [ModuleName].
const (
	// FuncCall sends one request and receives its response.
	//
	//	(func $call (param $req_ptr i32) (param $req_len i32)
	//	            (param $resp_ptr i32) (param $resp_cap i32) (result i64))
	//
	// The result is the response length when it is >= 0. If that length is at most
	// resp_cap, the response was written at resp_ptr. Otherwise nothing was written and
	// the host holds the response for [FuncTake]. A negative result is a [Status].
	FuncCall = "call"

	// FuncTake copies the response that the last [FuncCall] could not fit.
	//
	//	(func $take (param $resp_ptr i32) (param $resp_cap i32) (result i64))
	//
	// The result is as for [FuncCall]. A pending response stays pending until it fits,
	// or until the next [FuncCall] replaces it.
	FuncTake = "take"
)

// Guest exports that the host calls.
const (
	// ExportRun runs the guest's task: it fetches the task with [OpTask] and reports
	// its outcome with [OpFinish]. Signature: (func $run).
	ExportRun = "run"
	// ExportInitialize is the reactor initialiser (Go's -buildmode=c-shared); the host
	// runs it once per instance before [ExportRun].
	ExportInitialize = "_initialize"
)
