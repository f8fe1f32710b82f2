package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmkv/wasmkv/host"
)

// These benchmarks report per-op figures with b.ReportMetric; ns/op is per script run
// unless a benchmark overrides it. They assert no thresholds: `go run ./bench/table`
// compares the same measurements with the targets of issue 5.
//
//	go test -run '^$' -bench . -benchmem ./bench/

// cacheDir is the compilation cache of the hosts that run scripts: "" is the host's
// default, the one the CLI uses, so only the first run on a machine compiles the guest
// (and a CPU profile of a later run shows the runs, not the compiler).
// BenchmarkCompile uses temp dirs of its own.
const cacheDir = ""

func TestMain(m *testing.M) {
	CompileHelper()
	code := m.Run()
	if shared.h != nil {
		shared.h.Close(context.Background())
	}
	os.Exit(code)
}

var shared struct {
	once sync.Once
	h    *host.Host
	err  error
}

// sharedHost is one host for every benchmark that runs scripts on pooled instances.
func sharedHost(b *testing.B) *host.Host {
	b.Helper()
	shared.once.Do(func() { shared.h, _, shared.err = NewHost(context.Background(), cacheDir) })
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.h
}

func reportStoreOp(b *testing.B, total time.Duration, runs int) {
	b.ReportMetric(PerOp(total, runs), "ns/storeop")
}

// BenchmarkStoreOp is one set+get loop of LoopN iterations per b.N, in the four forms of
// the table (sandbox, native, guest_table, redis_eval) and three diagnostic ones: the loop
// storing numbers, in the sandbox and on the guest table, and the table loop on native
// gopher-lua (the price of running Lua in wasm).
func BenchmarkStoreOp(b *testing.B) {
	ctx := context.Background()
	sandboxLoop := func(src []byte) func(b *testing.B) {
		return func(b *testing.B) {
			h := sharedHost(b)
			if err := h.Prewarm(ctx, ModStore, 1); err != nil {
				b.Fatal(err)
			}
			if _, err := RunScript(ctx, h, ModStore, src, LoopArgs("w:")...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				d, err := RunScript(ctx, h, ModStore, src, LoopArgs("s:")...)
				if err != nil {
					b.Fatal(err)
				}
				total += d
			}
			reportStoreOp(b, total, b.N)
		}
	}
	nativeLoop := func(src []byte) func(b *testing.B) {
		return func(b *testing.B) {
			n, err := NewNative(src, Config(), ModStore)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			if _, err := n.Run(LoopArgs("w:")...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				d, err := n.Run(LoopArgs("s:")...)
				if err != nil {
					b.Fatal(err)
				}
				total += d
			}
			reportStoreOp(b, total, b.N)
		}
	}
	b.Run("sandbox", sandboxLoop(StoreLoopScript))
	b.Run("native", nativeLoop(StoreLoopScript))
	b.Run("guest_table", sandboxLoop(TableLoopScript))
	b.Run("sandbox_number", sandboxLoop(NumberStoreLoopScript))
	b.Run("guest_table_number", sandboxLoop(NumberTableLoopScript))
	b.Run("native_table", nativeLoop(TableLoopScript))
	b.Run("redis_eval", func(b *testing.B) {
		r, err := StartRedis()
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		if _, _, err := r.Eval(RedisLoopScript, LoopArgs("w:")...); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		var total time.Duration
		for range b.N {
			v, d, err := r.Eval(RedisLoopScript, LoopArgs("s:")...)
			if err != nil || v != int64(LoopN) {
				b.Fatalf("EVAL: %v, %v", v, err)
			}
			total += d
		}
		reportStoreOp(b, total, b.N)
	})
}

// BenchmarkGoMap is one set+get pair on a plain Go map per b.N.
func BenchmarkGoMap(b *testing.B) {
	b.ReportAllocs()
	b.ResetTimer()
	d := GoMapOps(b.N)
	b.ReportMetric(float64(d.Nanoseconds())/float64(2*b.N), "ns/storeop")
}

// BenchmarkWarmRun is one run of a cached `return 1` on a pooled instance per b.N.
func BenchmarkWarmRun(b *testing.B) {
	ctx := context.Background()
	h := sharedHost(b)
	if _, err := WarmRuns(ctx, h, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	ds := make([]time.Duration, b.N)
	for i := range ds {
		d, err := RunScript(ctx, h, ModWarm, TinyScript)
		if err != nil {
			b.Fatal(err)
		}
		ds[i] = d
	}
	b.StopTimer()
	b.ReportMetric(float64(Percentile(ds, 50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(Percentile(ds, 99).Nanoseconds()), "p99-ns")
}

// BenchmarkNewInstance is one new pooled instance (instantiate + _initialize, through
// h.Prewarm of a fresh module) per b.N; first-run-ms adds the first run on it, which
// builds its Lua VM. Hosts are replaced every 8 instances, outside the timing.
func BenchmarkNewInstance(b *testing.B) {
	sharedHost(b) // fills the cache
	ts, err := NewInstances(context.Background(), cacheDir, b.N, 8)
	if err != nil {
		b.Fatal(err)
	}
	var newSum, firstSum time.Duration
	for _, t := range ts {
		newSum += t.New
		firstSum += t.FirstRun
	}
	b.ReportMetric(float64(newSum.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(newSum.Milliseconds())/float64(b.N), "new-ms")
	b.ReportMetric(float64((newSum+firstSum).Microseconds())/1e3/float64(b.N), "new+first-run-ms")
}

// BenchmarkCompile is host.New per b.N, each in a new process (see CompileFresh): cold
// with an empty cache dir each time, warm loading the guest from a cache dir filled
// beforehand, as a new CLI process does.
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	report := func(b *testing.B, total time.Duration) {
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
		b.ReportMetric(float64(total.Microseconds())/1e3/float64(b.N), "ms")
	}
	b.Run("cold", func(b *testing.B) {
		var total time.Duration
		for i := range b.N {
			d, err := CompileFresh(ctx, filepath.Join(b.TempDir(), fmt.Sprint(i)))
			if err != nil {
				b.Fatal(err)
			}
			total += d
		}
		report(b, total)
	})
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		if _, err := CompileFresh(ctx, dir); err != nil {
			b.Fatal(err)
		}
		var total time.Duration
		for range b.N {
			d, err := CompileFresh(ctx, dir)
			if err != nil {
				b.Fatal(err)
			}
			total += d
		}
		report(b, total)
	})
}

// BenchmarkThroughput runs b.N store loops of TPLoopN iterations split across 1 or 2
// host goroutines, each on its own pooled instance and keys; runs/s is the aggregate
// throughput, ns/storeop the wall time per op of all goroutines together, and cores the
// process's CPU time over the wall time (below g when the machine was busy elsewhere).
func BenchmarkThroughput(b *testing.B) {
	ctx := context.Background()
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			h := sharedHost(b)
			if err := h.Prewarm(ctx, ModTP, g); err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range g {
				wg.Go(func() { _, _ = RunScript(ctx, h, ModTP, StoreLoopScript, TPArgs(fmt.Sprintf("tp%d:", i))...) })
			}
			wg.Wait()
			var left atomic.Int64
			left.Store(int64(b.N))
			var failed atomic.Pointer[error]
			b.ResetTimer()
			cpu0 := processCPU()
			start := time.Now()
			for i := range g {
				prefix := fmt.Sprintf("tp%d:", i)
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if _, err := RunScript(ctx, h, ModTP, StoreLoopScript, TPArgs(prefix)...); err != nil {
							failed.Store(&err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			cpu := processCPU() - cpu0
			b.StopTimer()
			if e := failed.Load(); e != nil {
				b.Fatal(*e)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "runs/s")
			b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(2*TPLoopN*b.N), "ns/storeop")
		})
	}
}

// BenchmarkTerminationChecks runs the guest on bare wazero with the host's own host
// functions (see RawGuest), with wazero's termination checks on (as the host always runs guests) and
// off, to price them: store and table loops report ns/storeop, tiny is one run.
func BenchmarkTerminationChecks(b *testing.B) {
	ctx := context.Background()
	for _, checks := range []bool{true, false} {
		name := map[bool]string{true: "on", false: "off"}[checks]
		b.Run(name, func(b *testing.B) {
			g, err := NewRawGuest(ctx, cacheDir, checks)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close(ctx)
			for _, c := range []struct {
				name string
				src  []byte
				args []string
				loop bool
			}{
				{"store_loop", StoreLoopScript, LoopArgs("s:"), true},
				{"table_loop", TableLoopScript, LoopArgs("s:"), true},
				{"tiny", TinyScript, nil, false},
			} {
				b.Run(c.name, func(b *testing.B) {
					if _, err := g.Run(ctx, c.src, c.args...); err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					var total time.Duration
					for range b.N {
						d, err := g.Run(ctx, c.src, c.args...)
						if err != nil {
							b.Fatal(err)
						}
						total += d
					}
					if c.loop {
						reportStoreOp(b, total, b.N)
					}
				})
			}
		})
	}
}
