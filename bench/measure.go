package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wasmkv/wasmkv/host"
)

// Modules of the benchmark configuration. Each has its own pool, so one measurement's
// instances never serve another's runs.
const (
	ModStore     = "bench.store"      // the store loop and the guest-table loop
	ModStoreExit = "bench.store.exit" // the same with preemption exit-checks
	ModWarm      = "bench.warm"       // the tiny script
	ModTP        = "bench.tp"         // the throughput runs, pool of 2
	ModRSS       = "bench.rss"        // the RSS measurement, pool of RSSInstances
	ModNewPfx    = "bench.fresh."     // a fresh module per new-instance sample
)

// RSSInstances is how many instances the RSS measurement creates.
const RSSInstances = 8

// ConfigYAML is the benchmark configuration: the default store, and the modules above.
var ConfigYAML = fmt.Sprintf(`
stores:
  app:cache: {kind: memory, max_size: 10000}
policies:
  - name: bench-app-cache
    effect: allow
    resources: ["app:cache"]
modules:
  %s: {pool_size: 2}
  %s: {pool_size: 2}
  %s: {pool_size: 2}
  %s: {pool_size: %d}
  %s: {pool_size: 2, preemption: exit-checks}
`, ModStore, ModWarm, ModTP, ModRSS, RSSInstances, ModStoreExit)

// Config parses ConfigYAML.
func Config() *host.Config {
	cfg, err := host.ParseConfig([]byte(ConfigYAML))
	if err != nil {
		panic(err)
	}
	return cfg
}

// NewHost builds a host on the benchmark configuration with its compilation cache in
// cacheDir ("" for the host's default, the one the CLI uses), and returns how long
// host.New took (mostly compiling the guest, or loading it from the cache).
func NewHost(ctx context.Context, cacheDir string) (*host.Host, time.Duration, error) {
	var opts []host.Option
	if cacheDir != "" {
		opts = append(opts, host.WithCompilationCacheDir(cacheDir))
	}
	start := time.Now()
	h, err := host.New(ctx, Config(), opts...)
	return h, time.Since(start), err
}

// RunScript runs src once as module with args and returns the wall time of h.Run.
func RunScript(ctx context.Context, h *host.Host, module string, src []byte, args ...string) (time.Duration, error) {
	start := time.Now()
	err := h.Run(ctx, host.Script{Module: module, Name: "bench.lua", Source: src, Args: args, Timeout: time.Minute})
	return time.Since(start), err
}

// LoopArgs are the store loop's arguments: LoopN iterations on keys with prefix.
func LoopArgs(prefix string) []string { return []string{strconv.Itoa(LoopN), prefix} }

// PerOp converts the total time of runs loop runs to ns per store operation.
func PerOp(total time.Duration, runs int) float64 {
	return float64(total.Nanoseconds()) / float64(2*LoopN*runs)
}

// Stats summarises repeated per-op measurements.
type Stats struct {
	Median, Min float64
	N           int
}

func summarize(xs []float64) Stats {
	s := slices.Clone(xs)
	slices.Sort(s)
	return Stats{Median: s[len(s)/2], Min: s[0], N: len(s)}
}

// StoreOpResult is ns per store op of each form, over the same rounds.
type StoreOpResult struct {
	Sandbox, GuestTable, Native, Redis, GoMap Stats
	// Diagnostics: the loop storing numbers instead of tables, in the sandbox and on the
	// guest-local table; and the guest-table loop on native gopher-lua.
	NumberSandbox, NumberGuestTable, NativeTable Stats
}

// StoreOps measures the store loop in every form: through h.Run on a pooled instance
// (sandbox), the same loop against a Lua table in the sandbox (guest_table), on native
// gopher-lua with the guest's Lua code over the host's handler (native), and the equivalent EVAL on a redis-server
// started for it (redis_eval); plus the diagnostic forms of StoreOpResult and GoMapOp.
// Each form is warmed up first; then every round runs each form once, interleaved, so
// that a change in the machine's load during the measurement touches every form alike.
func StoreOps(ctx context.Context, h *host.Host, rounds int) (StoreOpResult, error) {
	var res StoreOpResult
	if err := h.Prewarm(ctx, ModStore, 1); err != nil {
		return res, err
	}
	native, err := NewNative(StoreLoopScript, Config(), ModStore)
	if err != nil {
		return res, err
	}
	defer native.Close()
	nativeTable, err := NewNative(TableLoopScript, Config(), ModStore)
	if err != nil {
		return res, err
	}
	defer nativeTable.Close()
	r, err := StartRedis()
	if err != nil {
		return res, err
	}
	defer r.Close()
	sandbox := func(src []byte) loopForm {
		return func(p string) (time.Duration, error) { return RunScript(ctx, h, ModStore, src, LoopArgs(p)...) }
	}
	forms := []loopForm{
		sandbox(StoreLoopScript),
		sandbox(TableLoopScript),
		func(p string) (time.Duration, error) { return native.Run(LoopArgs(p)...) },
		redisForm(r),
		sandbox(NumberStoreLoopScript),
		sandbox(NumberTableLoopScript),
		func(p string) (time.Duration, error) { return nativeTable.Run(LoopArgs(p)...) },
	}
	per, err := perOpRounds(forms, rounds, "s:")
	if err != nil {
		return res, err
	}
	res.Sandbox, res.GuestTable, res.Native, res.Redis = summarize(per[0]), summarize(per[1]), summarize(per[2]), summarize(per[3])
	res.NumberSandbox, res.NumberGuestTable, res.NativeTable = summarize(per[4]), summarize(per[5]), summarize(per[6])
	res.GoMap = GoMapOp(max(rounds, 5))
	return res, nil
}

// loopForm runs one form of the store loop with a key prefix and returns its time.
type loopForm func(prefix string) (time.Duration, error)

// redisForm is the store loop as a Redis EVAL.
func redisForm(r *Redis) loopForm {
	return func(p string) (time.Duration, error) {
		v, d, err := r.Eval(RedisLoopScript, LoopArgs(p)...)
		if err == nil && v != int64(LoopN) {
			err = fmt.Errorf("bench: EVAL returned %v", v)
		}
		return d, err
	}
}

// perOpRounds runs every form once per round, in turn, after a round that warms up,
// and returns each form's time per operation, one value per round.
func perOpRounds(forms []loopForm, rounds int, prefix string) ([][]float64, error) {
	per := make([][]float64, len(forms))
	for round := -1; round < rounds; round++ { // round -1 warms up
		for i, f := range forms {
			d, err := f(prefix)
			if err != nil {
				return nil, err
			}
			if round >= 0 {
				per[i] = append(per[i], PerOp(d, 1))
			}
		}
	}
	return per, nil
}

// mapValue is what the Go map stores: the loop's {id, name} as a struct.
type mapValue struct {
	ID   int
	Name string
}

var mapSink int

// GoMapOps does n set+get pairs on a map[string]mapValue over 64 keys and returns the
// elapsed time (2n operations).
func GoMapOps(n int) time.Duration {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = "s:" + strconv.Itoa(i+1)
	}
	m := make(map[string]mapValue, 64)
	sum := 0
	start := time.Now()
	for i := 1; i <= n; i++ {
		k := keys[i&63]
		m[k] = mapValue{ID: i, Name: "alice"}
		sum += m[k].ID
	}
	d := time.Since(start)
	mapSink = sum
	return d
}

// GoMapOp returns ns per Go map operation, the median of reps runs of 1e6 pairs.
func GoMapOp(reps int) Stats {
	const n = 1_000_000
	per := make([]float64, reps)
	for i := range per {
		per[i] = float64(GoMapOps(n).Nanoseconds()) / (2 * n)
	}
	return summarize(per)
}

// WarmRuns runs TinyScript count times on a pooled instance (after a warm-up that
// builds the instance's VM and caches the chunk) and returns each run's duration.
func WarmRuns(ctx context.Context, h *host.Host, count int) ([]time.Duration, error) {
	if err := h.Prewarm(ctx, ModWarm, 1); err != nil {
		return nil, err
	}
	for range 50 {
		if _, err := RunScript(ctx, h, ModWarm, TinyScript); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, count)
	for i := range out {
		d, err := RunScript(ctx, h, ModWarm, TinyScript)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// Percentile returns the p-th percentile (0..100) of ds, by nearest rank.
func Percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// InstanceTiming is one new instance: New is h.Prewarm of a fresh module (instantiate
// and _initialize: the Go runtime starts, no Lua VM yet); FirstRun is the first run of
// TinyScript on it, which builds the instance's Lua VM and compiles the chunk.
type InstanceTiming struct{ New, FirstRun time.Duration }

// NewInstances creates count instances, each in a fresh module's pool, on hosts that
// load the guest from the warm cache in cacheDir. A host is replaced every batch
// instances (outside the timings), so the idle instances do not pile up.
func NewInstances(ctx context.Context, cacheDir string, count, batch int) ([]InstanceTiming, error) {
	out := make([]InstanceTiming, 0, count)
	var seq int
	for len(out) < count {
		h, _, err := NewHost(ctx, cacheDir)
		if err != nil {
			return nil, err
		}
		for i := 0; i < batch && len(out) < count; i++ {
			seq++
			mod := ModNewPfx + strconv.Itoa(seq)
			start := time.Now()
			err := h.Prewarm(ctx, mod, 1)
			t1 := time.Now()
			if err == nil {
				_, err = RunScript(ctx, h, mod, TinyScript)
			}
			if err != nil {
				h.Close(ctx)
				return nil, err
			}
			out = append(out, InstanceTiming{New: t1.Sub(start), FirstRun: time.Since(t1)})
		}
		if err := h.Close(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CompileTime builds and closes a host with its compilation cache in dir and returns
// how long host.New took. The host keeps one cache object per directory per process,
// with the compiled code in memory, so only the first call per dir in a process reads
// (or fills) the directory: use CompileFresh to time a cold or a file-cache compile.
func CompileTime(ctx context.Context, dir string) (time.Duration, error) {
	h, d, err := NewHost(ctx, dir)
	if err != nil {
		return 0, err
	}
	return d, h.Close(ctx)
}

// compileOnlyEnv tells a process started by CompileFresh to time one host.New and exit.
const compileOnlyEnv = "WASMKV_BENCH_COMPILE_ONLY"

// CompileHelper must run first in main (and TestMain): in a process started by
// CompileFresh it times host.New with the cache dir it was given, prints the result
// and exits; otherwise it does nothing.
func CompileHelper() {
	dir := os.Getenv(compileOnlyEnv)
	if dir == "" {
		return
	}
	d, err := CompileTime(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("compile-ns %d\n", d.Nanoseconds())
	os.Exit(0)
}

// CompileFresh times host.New with the compilation cache in dir in a new process (this
// executable, re-run through CompileHelper), so nothing compiled in this process is
// reused: with an empty dir it is a cold compile, with a filled one a file-cache load,
// as a new CLI process sees it.
func CompileFresh(ctx context.Context, dir string) (time.Duration, error) {
	ns, err := runHelper(ctx, compileOnlyEnv, dir, "compile-ns ")
	return time.Duration(ns), err
}

// runHelper runs this executable again with env set to dir, which makes it one of the
// helpers (CompileHelper, PeakHelper), and returns the number it prints after prefix.
func runHelper(ctx context.Context, env, dir, prefix string) (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), env+"="+dir)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		return 0, fmt.Errorf("bench: helper %s: %v\n%s", env, err, stderr)
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("bench: helper %s printed no %q: %q", env, prefix, out)
}

// VmRSS reads the resident set size of this process from /proc/self/status, in bytes.
func VmRSS() (int64, error) { return procStatus("VmRSS:") }

// procStatus reads a field of /proc/self/status given in kB, in bytes.
func procStatus(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("bench: no %s in /proc/self/status", field)
}

// settledRSS collects garbage and returns free heap pages to the OS before reading
// VmRSS, so that the Go heap's slack does not count as instance memory.
func settledRSS() (int64, error) {
	runtime.GC()
	debug.FreeOSMemory()
	return VmRSS()
}

// RSSResult is the resident memory per pooled instance, in bytes: Prewarmed right
// after h.Prewarm (runtime started, no Lua VM yet), Idle after each instance has run a
// script once and gone back to the pool, which is what an idle instance of a serving
// host looks like.
type RSSResult struct {
	Prewarmed, Idle float64
	Instances       int
}

// RSSPerInstance prewarms RSSInstances instances of ModRSS and reads VmRSS before and
// after, then runs a short script on all of them at once (GOMAXPROCS is raised for that,
// so that every run holds its own instance) and reads VmRSS again.
func RSSPerInstance(ctx context.Context, h *host.Host) (RSSResult, error) {
	const n = RSSInstances
	base, err := settledRSS()
	if err != nil {
		return RSSResult{}, err
	}
	before := h.PoolStats().Created
	if err := h.Prewarm(ctx, ModRSS, n); err != nil {
		return RSSResult{}, err
	}
	warm, err := settledRSS()
	if err != nil {
		return RSSResult{}, err
	}
	prev := runtime.GOMAXPROCS(n + 2)
	var wg sync.WaitGroup
	var runErr atomic.Pointer[error]
	for range n {
		wg.Go(func() {
			if _, err := RunScript(ctx, h, ModRSS, spinScript); err != nil {
				runErr.Store(&err)
			}
		})
	}
	wg.Wait()
	runtime.GOMAXPROCS(prev)
	if e := runErr.Load(); e != nil {
		return RSSResult{}, *e
	}
	if created := h.PoolStats().Created - before; created != n || h.Idle(ModRSS) != n {
		return RSSResult{}, fmt.Errorf("bench: RSS: %d instances created and %d idle, want %d", created, h.Idle(ModRSS), n)
	}
	used, err := settledRSS()
	if err != nil {
		return RSSResult{}, err
	}
	return RSSResult{Prewarmed: float64(warm-base) / n, Idle: float64(used-base) / n, Instances: n}, nil
}

// TPLoopN is the iteration count of the store loop in throughput runs: short runs, so
// that a window of a few seconds holds dozens of them.
const TPLoopN = 100

// TPArgs are the throughput loop's arguments.
func TPArgs(prefix string) []string { return []string{strconv.Itoa(TPLoopN), prefix} }

// TPResult is one throughput window.
type TPResult struct {
	RunsPerSec float64
	// CoresBusy is the process's CPU time (user+sys) over the window's wall time: near
	// the goroutine count when the process got the cores it asked for, lower when the
	// machine was busy with other work.
	CoresBusy float64
	// CPUPerRun is the process's CPU time per completed run.
	CPUPerRun time.Duration
}

// Throughput runs the store loop (TPLoopN iterations) on ModTP from g goroutines, each
// on its own keys, until d has passed, and returns completed runs per second and the
// CPU the process used. The pool is prewarmed with g instances and each goroutine warms
// up first, outside the timing.
func Throughput(ctx context.Context, h *host.Host, g int, d time.Duration) (TPResult, error) {
	if err := h.Prewarm(ctx, ModTP, g); err != nil {
		return TPResult{}, err
	}
	var runs atomic.Int64
	var firstErr atomic.Pointer[error]
	var ready, wg sync.WaitGroup
	startGate := make(chan struct{})
	var deadline time.Time
	ready.Add(g)
	for i := range g {
		prefix := "tp" + strconv.Itoa(i) + ":"
		wg.Go(func() {
			_, err := RunScript(ctx, h, ModTP, StoreLoopScript, TPArgs(prefix)...)
			ready.Done()
			if err != nil {
				firstErr.Store(&err)
				return
			}
			<-startGate
			for time.Now().Before(deadline) {
				if _, err := RunScript(ctx, h, ModTP, StoreLoopScript, TPArgs(prefix)...); err != nil {
					firstErr.Store(&err)
					return
				}
				runs.Add(1)
			}
		})
	}
	ready.Wait()
	cpu0 := processCPU()
	start := time.Now()
	deadline = start.Add(d)
	close(startGate)
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	if e := firstErr.Load(); e != nil {
		return TPResult{}, *e
	}
	n := runs.Load()
	return TPResult{RunsPerSec: float64(n) / elapsed.Seconds(), CoresBusy: cpu.Seconds() / elapsed.Seconds(),
		CPUPerRun: cpu / time.Duration(max(n, 1))}, nil
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// RepoRoot finds the module root (the directory holding go.mod) from the working
// directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/wasmkv/wasmkv") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench: not inside the wasmkv module")
		}
		dir = parent
	}
}

// CLIRuns builds the CLI into a temp dir and times runs whole-process runs of
// `wasmkv run [flags] examples/hello.lua` with XDG_CACHE_HOME set to xdgCache (a fresh temp dir
// when ""), after one untimed run that makes sure the compilation cache there is warm.
func CLIRuns(ctx context.Context, root, xdgCache string, runs int, flags ...string) ([]time.Duration, error) {
	tmp, err := os.MkdirTemp("", "wasmkv-bench-cli-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "wasmkv")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/wasmkv")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench: building the CLI: %v\n%s", err, out)
	}
	if xdgCache == "" {
		xdgCache = filepath.Join(tmp, "cache")
	}
	env := append(os.Environ(), "XDG_CACHE_HOME="+xdgCache)
	run := func() (time.Duration, error) {
		cmd := exec.CommandContext(ctx, bin, append(append([]string{"run"}, flags...), "examples/hello.lua")...)
		cmd.Dir, cmd.Env = root, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("bench: wasmkv run examples/hello.lua: %v\n%s", err, out)
		}
		return d, nil
	}
	if _, err := run(); err != nil { // warms the cache if it is cold
		return nil, err
	}
	out := make([]time.Duration, runs)
	for i := range out {
		if out[i], err = run(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Revision describes what was measured: the commit, whether the work tree had changes,
// and a hash of host/guest.wasm (the guest the host embeds).
func Revision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	rev := strings.TrimSpace(string(out))
	if err != nil {
		rev = "unknown commit"
	} else if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += " with uncommitted changes"
	}
	if b, err := os.ReadFile(filepath.Join(root, "host", "guest.wasm")); err == nil {
		sum := sha256.Sum256(b)
		rev += fmt.Sprintf(", guest.wasm %.1f MB sha256:%x", float64(len(b))/1e6, sum[:6])
	}
	return rev
}

// Machine describes where the numbers were taken.
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (GOMAXPROCS %d), %s, %s %s/%s", runtime.NumCPU(), runtime.GOMAXPROCS(0), cpu,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
