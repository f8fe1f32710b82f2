//go:build wasip1

package main

// run is called by the host once per run; see abi.ExportRun.
//
//go:wasmexport run
func run() { runTask() }
