// Command guest is the wasmkv sandbox: gopher-lua built for GOOS=wasip1 GOARCH=wasm as
// a reactor (-buildmode=c-shared). The host instantiates it, runs _initialize once and
// then calls the exported run function, which fetches a Lua task from the host, runs it
// with only the safe standard libraries plus the store and errors modules, and reports
// the outcome. The guest has no other way out than the host functions of package abi.
package main

import (
	"runtime/debug"

	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/sdk"
)

// main never runs in reactor mode; the Go toolchain still wants one.
func main() {}

// runTask is the body of the exported run function.
func runTask() {
	task, err := sdk.Task()
	if err != nil {
		sdk.Finish(err)
		return
	}
	if e := execute(task); e != nil {
		sdk.Finish(e)
		return
	}
	sdk.Finish(nil)
}

// memLimitSet is the memory limit the collector was last sized for.
var memLimitSet int64

// theVM is this instance's Lua state, built on the first run.
var theVM *vm

// execute runs one task and returns its failure, or nil.
func execute(t *abi.Task) *abi.Error {
	if t.MemoryLimit > 0 && t.MemoryLimit != memLimitSet {
		memLimitSet = t.MemoryLimit
		// Go's collector grows the heap to twice what is live before it runs; inside a
		// memory-limited instance that ends in an out-of-memory trap long before the
		// live data needs it. A soft limit just under the instance's makes it collect
		// first. Lower is worse: a script that really grows then crawls through back-to-
		// back collections before it hits the limit (measured, a table growing to 64 MiB
		// under load: 29 s at a soft limit of half, 16 s at 9/10, 20 s with none).
		debug.SetMemoryLimit(t.MemoryLimit / 10 * 9)
	}
	if theVM == nil {
		theVM = newVM()
	}
	theVM.reset()
	reseedRandom()
	L := theVM.L
	defer theVM.afterRun()
	defer releaseAll()
	proto, err := chunks.compile(t.Name, t.Source)
	if err != nil {
		return abi.NewError(abi.Invalid, err.Error())
	}
	fn := L.NewFunctionFromProto(proto)
	top := L.GetTop()
	L.Push(fn)
	for _, a := range t.Args {
		L.Push(lua.LString(a))
	}
	if err := L.PCall(len(t.Args), lua.MultRet, nil); err != nil {
		if apiErr, ok := err.(*lua.ApiError); ok {
			return toError(apiErr.Object, apiErr.Error())
		}
		return abi.NewError(abi.Unknown, err.Error())
	}
	// A script that returns nil, err failed, as a store method does.
	if L.GetTop()-top >= 2 && L.Get(top+1) == lua.LNil && L.Get(top+2) != lua.LNil {
		e := L.Get(top + 2)
		return toError(e, errorText(L, e))
	}
	return nil
}
