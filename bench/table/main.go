// Command table runs the measurements of package bench once and prints one Markdown
// table with every ratio computed in the same run, next to the targets of issue 5.
//
//	go run ./bench/table            # from the repository root (make bench runs it)
//
// It starts its own redis-server, builds the CLI into a temp dir, and keeps every
// compilation cache in temp dirs, so it leaves nothing behind.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wasmkv/wasmkv/bench"
)

func main() {
	bench.CompileHelper()
	bench.PeakHelper()
	rounds := flag.Int("rounds", 15, "rounds of the interleaved store-op loops")
	warmRuns := flag.Int("warm-runs", 3000, "runs of the tiny script for the warm-run percentiles")
	instances := flag.Int("instances", 16, "new instances to time")
	tpDur := flag.Duration("tp", 6*time.Second, "total duration of each throughput measurement, in 3 windows alternating 1 and 2 goroutines")
	cliRuns := flag.Int("cli-runs", 5, "timed runs of the CLI")
	flag.Parse()
	if err := run(*rounds, *warmRuns, *instances, *tpDur, *cliRuns); err != nil {
		fmt.Fprintln(os.Stderr, "bench/table:", err)
		os.Exit(1)
	}
}

// row is one line of the table. ok is nil where the issue sets no target.
type row struct {
	what, value, target string
	ok                  *bool
	miss                string // by how much a missed target is missed
}

func run(rounds, warmRuns, instances int, tpDur time.Duration, cliRuns int) error {
	ctx := context.Background()
	began := time.Now()
	load0 := loadavg()
	root, err := bench.RepoRoot()
	if err != nil {
		return err
	}
	rev := bench.Revision(root)
	// The compilation cache lives where the CLI looks with XDG_CACHE_HOME=xdg, so the
	// CLI runs find it warm.
	xdg, err := os.MkdirTemp("", "wasmkv-bench-cache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(xdg)
	cacheDir := filepath.Join(xdg, "wasmkv", "wazero")

	step("compile cold")
	cold, err := bench.CompileFresh(ctx, cacheDir)
	if err != nil {
		return err
	}
	step("compile warm")
	var warmCompile []time.Duration
	for range 3 {
		d, err := bench.CompileFresh(ctx, cacheDir)
		if err != nil {
			return err
		}
		warmCompile = append(warmCompile, d)
	}
	h, _, err := bench.NewHost(ctx, cacheDir)
	if err != nil {
		return err
	}
	defer h.Close(ctx)

	step("RSS per pooled instance")
	rss, err := bench.RSSPerInstance(ctx, h)
	if err != nil {
		return err
	}
	step("store ops")
	ops, err := bench.StoreOps(ctx, h, rounds)
	if err != nil {
		return err
	}
	step("warm runs")
	warm, err := bench.WarmRuns(ctx, h, warmRuns)
	if err != nil {
		return err
	}
	step("new instances")
	its, err := bench.NewInstances(ctx, cacheDir, instances, 8)
	if err != nil {
		return err
	}
	var news, firsts []time.Duration
	for _, t := range its {
		news = append(news, t.New)
		firsts = append(firsts, t.New+t.FirstRun)
	}
	step("first runs on new instances, page faults")
	first, err := bench.FirstRuns(ctx, h, 20)
	if err != nil {
		return err
	}
	step("peak RSS while a guest fills 128 MiB")
	peak, err := bench.PeakFill(ctx, cacheDir)
	if err != nil {
		return err
	}
	step("throughput, 1 and 2 goroutines")
	// Alternating windows, so that a change in the machine's load touches both alike.
	var tp1, tp2 bench.TPResult
	for range 3 {
		t1, err := bench.Throughput(ctx, h, 1, tpDur/3)
		if err != nil {
			return err
		}
		t2, err := bench.Throughput(ctx, h, 2, tpDur/3)
		if err != nil {
			return err
		}
		for _, p := range []struct{ sum, w *bench.TPResult }{{&tp1, &t1}, {&tp2, &t2}} {
			p.sum.RunsPerSec += p.w.RunsPerSec / 3
			p.sum.CoresBusy += p.w.CoresBusy / 3
			p.sum.CPUPerRun += p.w.CPUPerRun / 3
		}
	}
	step("termination checks on vs off (bare wazero)")
	term, err := bench.TerminationChecks(ctx, cacheDir, max(3, rounds/3))
	if err != nil {
		return err
	}
	step("preemption modes through the host, stop latency")
	pre, err := bench.Preemption(ctx, h, max(3, rounds/3), 20)
	if err != nil {
		return err
	}
	step("host ticker while guests spin, countdown and exit-checks")
	tickNew, err := bench.Ticker(ctx, h, bench.ModStore, 2*time.Second)
	if err != nil {
		return err
	}
	tickOld, err := bench.Ticker(ctx, h, bench.ModStoreExit, 2*time.Second)
	if err != nil {
		return err
	}
	step("CLI")
	cli, err := bench.CLIRuns(ctx, root, xdg, cliRuns)
	if err != nil {
		return err
	}
	step("puc-lua guest")
	puc, err := bench.PucLua(ctx, h, root, rounds, warmRuns)
	if err != nil {
		return err
	}
	pucCLI, err := bench.CLIRuns(ctx, root, xdg, cliRuns, "--guest", "puc-lua")
	if err != nil {
		return err
	}
	load1 := loadavg()

	le := func(v, t float64) *bool { b := v <= t; return &b }
	ge := func(v, t float64) *bool { b := v >= t; return &b }
	over := func(v, t float64) string { return fmt.Sprintf("%.1f× the target", v/t) }
	rTable := ops.Sandbox.Median / ops.GuestTable.Median
	rNative := ops.Sandbox.Median / ops.Native.Median
	rRedis := ops.Sandbox.Median / ops.Redis.Median
	p50, p99 := bench.Percentile(warm, 50), bench.Percentile(warm, 99)
	newMed, firstMed := bench.Percentile(news, 50), bench.Percentile(firsts, 50)
	cliMed := bench.Percentile(cli, 50)
	mib := func(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
	rTP := tp2.RunsPerSec / tp1.RunsPerSec

	rows := []row{
		{what: "store op (set or get), sandbox", value: ns(ops.Sandbox.Median)},
		{what: "store op, guest-local Lua table in the sandbox", value: ns(ops.GuestTable.Median)},
		{what: "store op, native: the guest's Lua code and the host's handler, no wasm", value: ns(ops.Native.Median)},
		{what: "store op, Redis EVAL (redis.call + cmsgpack)", value: ns(ops.Redis.Median)},
		{what: "Go map op", value: ns(ops.GoMap.Median)},
		{what: "sandbox ÷ guest_table", value: ratio(rTable), target: "≤ 1.15", ok: le(rTable, 1.15), miss: over(rTable, 1.15)},
		{what: "sandbox ÷ native (countdown preemption)", value: ratio(rNative), target: "≤ 10", ok: le(rNative, 10), miss: over(rNative, 10)},
		{what: "sandbox ÷ redis_eval", value: ratio(rRedis), target: "—"},
		{what: "warm run of a cached tiny script, p50 (reset to the snapshot included)", value: dur(p50), target: "≤ 50 µs", ok: le(float64(p50), float64(50*time.Microsecond)), miss: over(float64(p50), float64(50*time.Microsecond))},
		{what: "warm run of a cached tiny script, p99", value: dur(p99), target: "≤ 150 µs", ok: le(float64(p99), float64(150*time.Microsecond)), miss: over(float64(p99), float64(150*time.Microsecond))},
		{what: "new pooled instance (from the snapshot)", value: dur(newMed), target: "—"},
		{what: "new instance + its first run of a tiny script", value: dur(firstMed), target: "≤ 0.3 ms", ok: le(float64(firstMed), float64(300*time.Microsecond)), miss: over(float64(firstMed), float64(300*time.Microsecond))},
		{what: fmt.Sprintf("diagnostic: first run on a new instance / warm run, with minor page faults (%d / %d)", first.FirstFaults, first.WarmFaults), value: dur(first.First) + " / " + dur(first.Warm), target: "—"},
		{what: "host peak RSS (VmHWM) of a process whose one guest fills a 128 MiB limit", value: mib(float64(peak)), target: "≤ 200 MB", ok: le(float64(peak), 200e6), miss: over(float64(peak), 200e6)},
		{what: "first compile (host.New), cold: new process, empty cache dir", value: dur(cold), target: "—"},
		{what: "first compile (host.New), warm: new process, filled cache dir", value: dur(bench.Percentile(warmCompile, 50)), target: "—"},
		{what: fmt.Sprintf("RSS per idle pooled instance (%d instances, each run once)", rss.Instances), value: mib(rss.Idle), target: "≤ 1 MiB", ok: le(rss.Idle, 1<<20), miss: over(rss.Idle, 1<<20)},
		{what: "RSS per prewarmed instance (not run yet)", value: mib(rss.Prewarmed), target: "—"},
		{what: "throughput, 1 goroutine (runs/s of a " + strconv.Itoa(bench.TPLoopN) + "-iteration store loop; cores busy, CPU per run)", value: tpString(tp1)},
		{what: "throughput, 2 goroutines (same; cores busy near 2 when the machine had 2 free cores)", value: tpString(tp2)},
		{what: "2 goroutines ÷ 1 goroutine throughput", value: ratio(rTP), target: "≥ 1.8", ok: ge(rTP, 1.8), miss: fmt.Sprintf("%.0f%% of the target", 100*rTP/1.8)},
		{what: fmt.Sprintf("`wasmkv run examples/hello.lua`, whole process, warm cache (median of %d)", len(cli)), value: dur(cliMed), target: "≤ 150 ms", ok: le(float64(cliMed), float64(150*time.Millisecond)), miss: over(float64(cliMed), float64(150*time.Millisecond))},
		{what: "diagnostic: guest_table ÷ the same table loop on native gopher-lua (" + ns(ops.NativeTable.Median) + "/op)", value: ratio(ops.GuestTable.Median / ops.NativeTable.Median), target: "—"},
		{what: "diagnostic: number values (" + ns(ops.NumberSandbox.Median) + " / " + ns(ops.NumberGuestTable.Median) + "/op): sandbox ÷ guest_table", value: ratio(ops.NumberSandbox.Median / ops.NumberGuestTable.Median), target: "—"},
		{what: "store loop, countdown ÷ no termination at all (bare wazero + the host's handler)", value: ratio(term.StoreCountdown.Median / term.StoreOff.Median), target: "≤ 1.10", ok: le(term.StoreCountdown.Median/term.StoreOff.Median, 1.10), miss: over(term.StoreCountdown.Median/term.StoreOff.Median, 1.10)},
		{what: "table loop, countdown ÷ no termination at all", value: ratio(term.TableCountdown.Median / term.TableOff.Median), target: "≤ 1.10", ok: le(term.TableCountdown.Median/term.TableOff.Median, 1.10), miss: over(term.TableCountdown.Median/term.TableOff.Median, 1.10)},
		{what: "tiny warm run, countdown ÷ no termination at all (" + ns(term.TinyCountdown.Median) + " / " + ns(term.TinyOff.Median) + ")", value: ratio(term.TinyCountdown.Median / term.TinyOff.Median), target: "≤ 1.10", ok: le(term.TinyCountdown.Median/term.TinyOff.Median, 1.10), miss: over(term.TinyCountdown.Median/term.TinyOff.Median, 1.10)},
		{what: "through the host, store op: countdown / exit-checks", value: ns(pre.StoreCountdown.Median) + " / " + ns(pre.StoreExit.Median) + " (" + ratio(pre.StoreExit.Median/pre.StoreCountdown.Median) + "×)", target: "—"},
		{what: "through the host, table op: countdown / exit-checks", value: ns(pre.TableCountdown.Median) + " / " + ns(pre.TableExit.Median) + " (" + ratio(pre.TableExit.Median/pre.TableCountdown.Median) + "×)", target: "—"},
		{what: "through the host, tiny warm run: countdown / exit-checks", value: ns(pre.TinyCountdown.Median) + " / " + ns(pre.TinyExit.Median) + " (" + ratio(pre.TinyExit.Median/pre.TinyCountdown.Median) + "×)", target: "—"},
		{what: fmt.Sprintf("stuck guest: stop after the deadline, p99 of %d, countdown (exit-checks)", len(pre.StopCountdown)), value: dur(bench.Percentile(pre.StopCountdown, 99)) + " (" + dur(bench.Percentile(pre.StopExit, 99)) + ")", target: "≤ 10 ms", ok: le(float64(bench.Percentile(pre.StopCountdown, 99)), float64(10*time.Millisecond)), miss: over(float64(bench.Percentile(pre.StopCountdown, 99)), float64(10*time.Millisecond))},
		{what: fmt.Sprintf("host 5 ms ticker's worst gap, %d spinning guests + forced GCs, countdown (missed ticks; GCs, slowest)", tickNew.Spinners), value: fmt.Sprintf("%v (%.0f%%; %d, %v)", dur(tickNew.WorstGap), tickNew.MissedPercent, tickNew.GCs, dur(tickNew.WorstGC)), target: "≤ 55 ms", ok: le(float64(tickNew.WorstGap), float64(55*time.Millisecond)), miss: over(float64(tickNew.WorstGap), float64(55*time.Millisecond))},
		{what: "the same, exit-checks", value: fmt.Sprintf("%v (%.0f%%; %d, %v)", dur(tickOld.WorstGap), tickOld.MissedPercent, tickOld.GCs, dur(tickOld.WorstGC)), target: "—"},
		{what: "diagnostic, bare wazero + the host's handler: store op, termination checks on / off", value: ns(term.StoreOn.Median) + " / " + ns(term.StoreOff.Median), target: "—"},
		{what: "diagnostic: exit-checks (wazero's termination checks) ÷ off, store loop", value: ratio(term.StoreOn.Median / term.StoreOff.Median), target: "—"},
		{what: "diagnostic: termination checks on ÷ off, guest-table loop", value: ratio(term.TableOn.Median / term.TableOff.Median), target: "—"},
		{what: "diagnostic: termination checks on ÷ off, tiny run (" + ns(term.TinyOn.Median) + " / " + ns(term.TinyOff.Median) + ")", value: ratio(term.TinyOn.Median / term.TinyOff.Median), target: "—"},
	}
	rows = append(rows, pucRows(puc, pucCLI, ops)...)

	fmt.Printf("wasmkv bench table, %s; %s; %s\n", began.UTC().Format("2006-01-02 15:04 UTC"), bench.Machine(), rev)
	fmt.Printf("load average %s at start, %s at end; store ops: median of %d interleaved rounds of %d set+get pairs; took %v\n\n",
		load0, load1, rounds, bench.LoopN, time.Since(began).Round(time.Second))
	fmt.Println("| measure | value | target | met |")
	fmt.Println("|---|---|---|---|")
	for _, r := range rows {
		met := ""
		switch {
		case r.ok == nil:
		case *r.ok:
			met = "yes"
		default:
			met = "**no**, " + r.miss
		}
		fmt.Printf("| %s | %s | %s | %s |\n", r.what, r.value, r.target, met)
	}
	return nil
}

func tpString(t bench.TPResult) string {
	return fmt.Sprintf("%.1f/s (%.2f cores, %s)", t.RunsPerSec, t.CoresBusy, dur(t.CPUPerRun))
}

func step(what string) { fmt.Fprintf(os.Stderr, "bench/table: %s...\n", what) }

func ns(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	}
	return fmt.Sprintf("%.1f ns", v)
}

func dur(d time.Duration) string { return ns(float64(d.Nanoseconds())) }

func ratio(r float64) string { return fmt.Sprintf("%.2f", r) }

// loadavg returns the 1-minute load average, which says how much the numbers can be
// trusted on a shared machine.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// pucRows are the PUC Lua guest's rows, against the targets of issue 15.
func pucRows(p bench.PucResult, cli []time.Duration, ops bench.StoreOpResult) []row {
	le := func(v, t float64) *bool { b := v <= t; return &b }
	over := func(v, t float64) string { return fmt.Sprintf("%.1f× the target", v/t) }
	rRedis, rNative := p.Sandbox.Median/p.Redis.Median, p.Sandbox.Median/p.Native.Median
	p50, cliMed := bench.Percentile(p.Warm, 50), bench.Percentile(cli, 50)
	kb := float64(p.WasmBytes) / 1024
	return []row{
		{what: "puc-lua: store op (set or get), sandbox (gopher-lua guest: " + ns(ops.Sandbox.Median) + ")", value: ns(p.Sandbox.Median)},
		{what: "puc-lua: store op, guest-local Lua table", value: ns(p.GuestTable.Median)},
		{what: "puc-lua: sandbox ÷ redis_eval (same rounds: " + ns(p.Redis.Median) + ")", value: ratio(rRedis), target: "≤ 2", ok: le(rRedis, 2), miss: over(rRedis, 2)},
		{what: "puc-lua: sandbox ÷ native gopher-lua + engine (same rounds: " + ns(p.Native.Median) + ")", value: ratio(rNative), target: "≤ 1.5", ok: le(rNative, 1.5), miss: over(rNative, 1.5)},
		{what: "puc-lua: guest size", value: fmt.Sprintf("%.0f KiB", kb), target: "≤ 400 KB", ok: le(float64(p.WasmBytes), 400e3), miss: over(float64(p.WasmBytes), 400e3)},
		{what: "puc-lua: first run on a new host, empty cache (compile + instantiate + run)", value: dur(p.FirstRunCold), target: "≤ 200 ms", ok: le(float64(p.FirstRunCold), float64(200*time.Millisecond)), miss: over(float64(p.FirstRunCold), float64(200*time.Millisecond))},
		{what: "puc-lua: warm run of a cached tiny script, p50", value: dur(p50), target: "≤ 20 µs", ok: le(float64(p50), float64(20*time.Microsecond)), miss: over(float64(p50), float64(20*time.Microsecond))},
		{what: fmt.Sprintf("puc-lua: `wasmkv run --guest puc-lua examples/hello.lua`, whole process (median of %d)", len(cli)), value: dur(cliMed), target: "≤ 40 ms", ok: le(float64(cliMed), float64(40*time.Millisecond)), miss: over(float64(cliMed), float64(40*time.Millisecond))},
		{what: "puc-lua: pcall(error, \"x\") (gopher-lua guest: " + ns(p.PcallGopher.Median) + ")", value: ns(p.Pcall.Median), target: "≤ 10 µs", ok: le(p.Pcall.Median, 10e3), miss: over(p.Pcall.Median, 10e3)},
	}
}
