package host

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time of the calling thread: under a loaded machine it leaves out
// the time the run waited for a core.
func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

func minflt() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}

// TestMeasureSnapshot prints, for each snapshot mode, the thread CPU time of a new
// instance, of its first run, and of warm runs (reset included), with the page faults
// each takes; a measurement for docs/performance.md, not a check.
func TestMeasureSnapshot(t *testing.T) {
	if os.Getenv("WASMKV_MEASURE") == "" {
		t.Skip("set WASMKV_MEASURE=1")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ctx := context.Background()
	for _, m := range []struct{ img, reset string }{{"off", ""}, {"map", "written"}, {"map", "copy"}, {"map", "remap"}, {"copy", "copy"}, {"map", "recycle"}} {
		cfg, _ := ParseConfig([]byte("modules:\n  m: {pool_size: 1}\n"))
		h, err := New(ctx, cfg, WithSnapshotMode(m.img, m.reset), WithDefaultGuest(os.Getenv("WASMKV_MEASURE_GUEST")), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		if err != nil {
			t.Fatal(err)
		}
		run := func() time.Duration {
			t0 := threadCPU()
			if err := h.Run(ctx, Script{Module: "m", Name: "t.lua", Source: []byte("local x = 1 + 1")}); err != nil {
				t.Fatal(err)
			}
			return threadCPU() - t0
		}
		run() // snapshot
		// new instances: prewarm a fresh module each time
		var news, firsts []time.Duration
		var faults []int64
		for i := range 20 {
			mod := "n" + string(rune('a'+i))
			t0 := threadCPU()
			if err := h.Prewarm(ctx, mod, 1); err != nil {
				t.Fatal(err)
			}
			news = append(news, threadCPU()-t0)
			f0 := minflt()
			t1 := threadCPU()
			h.Run(ctx, Script{Module: mod, Name: "t.lua", Source: []byte("local x = 1 + 1")})
			firsts = append(firsts, threadCPU()-t1)
			faults = append(faults, minflt()-f0)
		}
		for range 50 {
			run()
		}
		var warm []time.Duration
		var wf []int64
		for range 300 {
			f0 := minflt()
			warm = append(warm, run())
			wf = append(wf, minflt()-f0)
		}
		slices.Sort(news)
		slices.Sort(firsts)
		slices.Sort(warm)
		slices.Sort(faults)
		slices.Sort(wf)
		t.Logf("%s/%s: new p50 %v; first run p50 %v (faults p50 %d); warm p50 %v p99 %v (faults p50 %d); stats %+v",
			m.img, m.reset, news[10], firsts[10], faults[10], warm[150], warm[297], wf[150], h.PoolStats())
		h.Close(ctx)
	}
}
