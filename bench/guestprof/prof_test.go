//go:build guestprof

package main

import (
	"strconv"
	"testing"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/bench"
	"github.com/wasmkv/wasmkv/guest/sdk"
)

func benchGuest(b *testing.B, src []byte, args ...string) {
	t := &abi.Task{Name: "bench.lua", Source: src, MemoryLimit: 128 << 20}
	for _, a := range args {
		t.Args = append(t.Args, []byte(a))
	}
	sdk.FakeTask = t
	runTask() // builds the VM and caches the chunk
	if sdk.FakeResult != nil {
		b.Fatal(sdk.FakeResult)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		runTask()
	}
	if sdk.FakeResult != nil {
		b.Fatal(sdk.FakeResult)
	}
}

// BenchmarkGuestTiny is one warm run of `return 1`: the guest's fixed cost per run.
func BenchmarkGuestTiny(b *testing.B) { benchGuest(b, bench.TinyScript) }

// BenchmarkGuestStoreLoop is one run of the store loop (2*LoopN store ops).
func BenchmarkGuestStoreLoop(b *testing.B) {
	benchGuest(b, bench.StoreLoopScript, strconv.Itoa(bench.LoopN), "s:")
}

// BenchmarkGuestTableLoop is the same loop against a Lua table.
func BenchmarkGuestTableLoop(b *testing.B) {
	benchGuest(b, bench.TableLoopScript, strconv.Itoa(bench.LoopN), "s:")
}
