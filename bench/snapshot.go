package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wasmkv/wasmkv/host"
)

// peakEnv tells a process started by PeakFill to run one guest that fills a 128 MiB
// memory limit, print its peak RSS and exit.
const peakEnv = "WASMKV_BENCH_PEAK"

// PeakHelper must run first in main: in a process started by PeakFill it measures and
// exits; otherwise it does nothing.
func PeakHelper() {
	dir := os.Getenv(peakEnv)
	if dir == "" {
		return
	}
	if err := peakFill(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func peakFill(dir string) error {
	ctx := context.Background()
	cfg, err := host.ParseConfig([]byte("modules:\n  fill: {memory_limit: 128MiB}\n"))
	if err != nil {
		return err
	}
	h, err := host.New(ctx, cfg, host.WithCompilationCacheDir(dir))
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	err = h.Run(ctx, host.Script{Module: "fill", Name: "fill.lua", Timeout: time.Minute,
		Source: []byte(`local t = {} while true do t[#t + 1] = string.rep("x", 2^20) end`)})
	if err == nil || !strings.Contains(err.Error(), "memory limit") {
		return fmt.Errorf("bench: the fill run must hit its memory limit, got %v", err)
	}
	hwm, err := procStatus("VmHWM:")
	if err != nil {
		return err
	}
	fmt.Printf("peak-bytes %d\n", hwm)
	return nil
}

// PeakFill returns the peak RSS (VmHWM) of a new process (this executable, re-run
// through PeakHelper) that loads the guest from the cache in dir and runs one guest
// that fills a 128 MiB memory limit.
func PeakFill(ctx context.Context, dir string) (int64, error) {
	return runHelper(ctx, peakEnv, dir, "peak-bytes ")
}

// FirstRun is the cost of a new instance's first run, with the page faults it takes
// (the process's minor faults during the run), against a warm run's.
type FirstRun struct {
	First, Warm             time.Duration
	FirstFaults, WarmFaults int64
}

func minorFaults() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Minflt
}

// FirstRuns makes count new instances (each in a fresh module's pool of a host whose
// snapshot is taken) and times each one's first run of TinyScript and then a warm run,
// counting page faults; it returns the medians.
func FirstRuns(ctx context.Context, h *host.Host, count int) (FirstRun, error) {
	var first, warm []time.Duration
	var ff, wf []int64
	for i := range count {
		mod := ModNewPfx + "first." + strconv.Itoa(i)
		if err := h.Prewarm(ctx, mod, 1); err != nil {
			return FirstRun{}, err
		}
		for j := range 2 {
			f0 := minorFaults()
			d, err := RunScript(ctx, h, mod, TinyScript)
			if err != nil {
				return FirstRun{}, err
			}
			if j == 0 {
				first, ff = append(first, d), append(ff, minorFaults()-f0)
			} else {
				warm, wf = append(warm, d), append(wf, minorFaults()-f0)
			}
		}
	}
	med := func(xs []int64) int64 {
		ds := make([]time.Duration, len(xs))
		for i, x := range xs {
			ds[i] = time.Duration(x)
		}
		return int64(Percentile(ds, 50))
	}
	return FirstRun{First: Percentile(first, 50), Warm: Percentile(warm, 50), FirstFaults: med(ff), WarmFaults: med(wf)}, nil
}
