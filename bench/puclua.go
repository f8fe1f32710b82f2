package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/wasmkv/wasmkv/host"
)

// PcallN is how many pcall(error, "x") one run of PcallScript makes.
const PcallN = 10_000

// PcallScript catches PcallN errors and checks it caught them all.
var PcallScript = []byte(`local n = 0
for i = 1, tonumber((...)) do if not pcall(error, "x") then n = n + 1 end end
assert(n == tonumber((...)))`)

// PucResult is the PUC Lua guest measured next to the baselines, in the same run.
type PucResult struct {
	// ns per store op, interleaved rounds: the puc-lua sandbox, its guest-local table
	// loop, native gopher-lua + engine.Memory, and Redis EVAL.
	Sandbox, GuestTable, Native, Redis Stats
	// ns per pcall(error, "x"), on each guest.
	Pcall, PcallGopher Stats
	// Warm runs of TinyScript on a pooled puc-lua instance.
	Warm []time.Duration
	// FirstRunCold is a new host's first puc-lua run with an empty compilation cache:
	// compile, instantiate, run.
	FirstRunCold time.Duration
	// WasmBytes is the size of the guest module.
	WasmBytes int
}

// RunScriptOn is RunScript on the named built-in Lua guest.
func RunScriptOn(ctx context.Context, h *host.Host, guest, module string, src []byte, args ...string) (time.Duration, error) {
	start := time.Now()
	err := h.Run(ctx, host.Script{Module: module, Name: "bench.lua", Source: src, Args: args, Timeout: time.Minute, LuaGuest: guest})
	return time.Since(start), err
}

// PucLua measures the PUC Lua guest on h: store ops interleaved with their baselines,
// pcall on both guests, warm tiny runs, a cold first run, and the module's size.
func PucLua(ctx context.Context, h *host.Host, root string, rounds, warmRuns int) (PucResult, error) {
	var res PucResult
	puc := host.GuestPucLua
	native, err := NewNative(StoreLoopScript, Config(), ModStore)
	if err != nil {
		return res, err
	}
	defer native.Close()
	r, err := StartRedis()
	if err != nil {
		return res, err
	}
	defer r.Close()
	forms := []loopForm{
		func(p string) (time.Duration, error) {
			return RunScriptOn(ctx, h, puc, ModStore, StoreLoopScript, LoopArgs(p)...)
		},
		func(p string) (time.Duration, error) {
			return RunScriptOn(ctx, h, puc, ModStore, TableLoopScript, LoopArgs(p)...)
		},
		func(p string) (time.Duration, error) { return native.Run(LoopArgs(p)...) },
		redisForm(r),
	}
	per, err := perOpRounds(forms, rounds, "p:")
	if err != nil {
		return res, err
	}
	res.Sandbox, res.GuestTable, res.Native, res.Redis = summarize(per[0]), summarize(per[1]), summarize(per[2]), summarize(per[3])

	var pcalls [2][]float64
	for round := -1; round < max(3, rounds/3); round++ {
		for i, g := range []string{puc, host.GuestGopherLua} {
			d, err := RunScriptOn(ctx, h, g, ModStore, PcallScript, strconv.Itoa(PcallN))
			if err != nil {
				return res, err
			}
			if round >= 0 {
				pcalls[i] = append(pcalls[i], float64(d.Nanoseconds())/PcallN)
			}
		}
	}
	res.Pcall, res.PcallGopher = summarize(pcalls[0]), summarize(pcalls[1])

	for range 50 {
		if _, err := RunScriptOn(ctx, h, puc, ModWarm, TinyScript); err != nil {
			return res, err
		}
	}
	res.Warm = make([]time.Duration, warmRuns)
	for i := range res.Warm {
		if res.Warm[i], err = RunScriptOn(ctx, h, puc, ModWarm, TinyScript); err != nil {
			return res, err
		}
	}

	dir, err := os.MkdirTemp("", "wasmkv-bench-puc-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	cold, _, err := NewHost(ctx, dir)
	if err != nil {
		return res, err
	}
	defer cold.Close(ctx)
	if res.FirstRunCold, err = RunScriptOn(ctx, cold, puc, ModWarm, TinyScript); err != nil {
		return res, err
	}

	gz, err := os.ReadFile(filepath.Join(root, "host", "puclua.wasm.gz"))
	if err != nil {
		return res, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return res, err
	}
	wasm, err := io.ReadAll(zr)
	res.WasmBytes = len(wasm)
	return res, err
}
