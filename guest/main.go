// Command guest is the wasmkv sandbox: gopher-lua built for GOOS=wasip1 GOARCH=wasm as
// a reactor (-buildmode=c-shared). The host instantiates it, runs _initialize once and
// then calls the exported run function, which fetches a Lua task from the host, runs it
// with only the safe standard libraries plus the store and errors modules, and reports
// the outcome. The guest has no other way out than the host functions of package abi.
//
// The Lua side lives in guest/lualib, which the benchmarks' native baseline runs too;
// this program only wires it to the wasm imports (guest/hostcall).
package main

import (
	"runtime/debug"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/hostcall"
	"github.com/wasmkv/wasmkv/guest/lualib"
)

// main never runs in reactor mode; the Go toolchain still wants one.
func main() {}

// theVM is this instance's Lua state, built on the first run.
var theVM *lualib.VM

// runTask is the body of the exported run function.
func runTask() {
	if theVM == nil {
		theVM = lualib.New(hostcall.NewWasm())
	}
	theVM.Serve(sizeCollector)
}

// memLimitSet is the memory limit the collector was last sized for.
var memLimitSet int64

// sizeCollector sets Go's soft memory limit from the instance's.
func sizeCollector(t *abi.Task) {
	if t.MemoryLimit <= 0 || t.MemoryLimit == memLimitSet {
		return
	}
	memLimitSet = t.MemoryLimit
	// Go's collector grows the heap to twice what is live before it runs; inside a
	// memory-limited instance that ends in an out-of-memory trap long before the live
	// data needs it. A soft limit just under the instance's makes it collect first.
	// Lower is worse: a script that really grows then crawls through back-to-back
	// collections before it hits the limit (measured, a table growing to 64 MiB under
	// load: 29 s at a soft limit of half, 16 s at 9/10, 20 s with none).
	debug.SetMemoryLimit(t.MemoryLimit / 10 * 9)
}
