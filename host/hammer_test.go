package host_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

var (
	hammerRuns = flag.Int("hammer.runs", 400, "runs of TestHammer; raise it for a soak (it takes about 30 s under -race on 2 cores at 400)")
	hammerSeed = flag.Uint64("hammer.seed", 20261126, "seed of TestHammer's plan of runs")
)

// hammerConfig: honest modules (m0..m3) use the defaults; memory bombs run in a module
// with a small memory limit.
const hammerConfig = `
stores:
  app:a: {kind: memory, max_size: 1000000}
  app:b: {kind: memory, max_size: 1000000}
policies:
  - name: hammer
    effect: allow
    resources: ["app:*"]
modules:
  bomb: {memory_limit: 32MiB}
`

var hammerModules = []string{"m0", "m1", "m2", "m3"}

// The hostile guests of the hammer, each on its own host, with what their runs end in
// ("" is success).
var hammerHostile = []struct{ guest, want string }{
	{"hostile_pointers", ""},
	{"hostile_overlap", ""},
	{"hostile_pending", ""},
	{"hostile_cbor", ""},
	{"hostile_noreport", "Internal: guest returned without reporting an outcome"},
	{"hostile_trap", "Internal: guest trapped: "},
	{"hostile_exit", "Internal: guest exited with code 3"},
	{"hostile_store_loop", "Timeout: script exceeded its timeout of 20ms"},
}

type hammerKind int

const (
	honest hammerKind = iota
	spin
	bomb
	hostile
)

// hammerRun is one planned run. An honest run writes its keys into its store, reads
// them back in the script, and counts itself in hammer:count of its store.
type hammerRun struct {
	n       int
	kind    hammerKind
	module  string
	store   string
	keys    []string
	values  []hammerValue
	hostile int // index in hammerHostile
}

// hammerValue is a value as Lua source and as Go reads it back with Store.Get into any.
type hammerValue struct {
	lua     string
	goValue any
}

func randValue(rng *rand.Rand) hammerValue {
	str := func() string {
		b := make([]byte, 1+rng.IntN(40))
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	switch rng.IntN(3) {
	case 0:
		n := rng.Int64N(2_000_000_000) - 1_000_000_000
		return hammerValue{fmt.Sprint(n), n}
	case 1:
		s := str()
		return hammerValue{fmt.Sprintf("%q", s), s}
	default:
		id, tag := rng.Int64N(1000), str()
		return hammerValue{
			fmt.Sprintf("{id = %d, tag = %q, list = {1, 2, 3}}", id, tag),
			map[any]any{"id": id, "tag": tag, "list": []any{int64(1), int64(2), int64(3)}},
		}
	}
}

func hammerPlan(name string, seed uint64, runs int) []hammerRun {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	plan := make([]hammerRun, runs)
	for i := range plan {
		r := hammerRun{n: i}
		switch p := rng.IntN(100); {
		case p < 70:
			r.kind = honest
			r.module = hammerModules[rng.IntN(len(hammerModules))]
			r.store = []string{"app:a", "app:b"}[rng.IntN(2)]
			for k := range 2 + rng.IntN(4) {
				r.keys = append(r.keys, fmt.Sprintf("%s%d:%d", name, i, k))
				r.values = append(r.values, randValue(rng))
			}
		case p < 78:
			r.kind, r.module = spin, "slow"
		case p < 85:
			r.kind, r.module = bomb, "bomb"
		default:
			r.kind, r.module = hostile, "hostile"
			r.hostile = rng.IntN(len(hammerHostile))
		}
		plan[i] = r
	}
	return plan
}

func (r *hammerRun) script() string {
	var b strings.Builder
	fmt.Fprintf(&b, "local s = assert(require(\"store\").get(%q))\nlocal want = {\n", r.store)
	for i, k := range r.keys {
		fmt.Fprintf(&b, "  {%q, %s},\n", k, r.values[i].lua)
	}
	b.WriteString(`}
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
for _, kv in ipairs(want) do assert(s:set(kv[1], kv[2])) end
for _, kv in ipairs(want) do
  if not same(s:get(kv[1]), kv[2]) then error("read back a different value at " .. kv[1]) end
end
assert(s:incr("hammer:count"))
print("ok")
`)
	return b.String()
}

// heapInuse is the heap in use after two collections (the second one empties what
// sync.Pools kept from the first).
func heapInuse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestHammer runs a fixed plan of runs from 2 goroutines per core: honest Lua scripts
// that write and verify their own keys, scripts stuck in a loop, memory bombs, and
// hostile WAT guests on their own hosts, all at once. Afterwards every honest
// script's data is in its store, no goroutine is left behind, and the host's heap is
// back within 16 MiB of what it was before the plan.
func TestHammer(t *testing.T) {
	if testing.Short() {
		t.Skip("the hammer is not short")
	}
	eachGuest(t, testHammer)
}

func testHammer(t *testing.T, guest string) {
	seed, runs := *hammerSeed, *hammerRuns
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hammer seed %d, runs %d: reproduce with -run '^TestHammer$' -hammer.seed=%d -hammer.runs=%d", seed, runs, seed, runs)
		}
	})
	ctx := context.Background()
	start := time.Now()
	h := newHost(t, hammerConfig, host.WithLogger(discardLogger()), host.WithDefaultGuest(guest))
	hostiles := make([]*host.Host, len(hammerHostile))
	for i, hg := range hammerHostile {
		hostiles[i] = newHost(t, testConfig, host.WithGuest(watGuest(t, hg.guest)), host.WithLogger(discardLogger()))
	}

	workers := 2 * runtime.GOMAXPROCS(0)
	run := func(plan []hammerRun) (errs []error, outs []string) {
		errs = make([]error, len(plan))
		outs = make([]string, len(plan))
		work := make(chan int)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := range work {
					var out safeBuffer
					errs[i] = hammerDo(ctx, h, hostiles, &plan[i], &out)
					outs[i] = out.String()
				}
			})
		}
		for i := range plan {
			work <- i
		}
		close(work)
		wg.Wait()
		return errs, outs
	}

	// Warm up with a short plan of its own: it compiles every sandbox and brings the
	// runtimes to their steady state under this concurrency (wazero keeps some memory
	// after the first concurrent runs, once). Then empty the honest modules' pools, so
	// that the heap's baseline holds no instance.
	warm := hammerPlan("warm", seed+1, 10*workers)
	_, _ = run(warm)
	emptyPools(t, h)
	goroutines := runtime.NumGoroutine()
	heap := heapInuse()

	plan := hammerPlan("run", seed, runs)
	errs, outs := run(plan)
	hammered := time.Since(start)

	// Every run ended as its kind must.
	count := map[string]int64{}
	kinds := map[hammerKind]int{}
	for _, r := range warm {
		if r.kind == honest {
			count[r.store]++
		}
	}
	for i, r := range plan {
		kinds[r.kind]++
		err := errs[i]
		switch r.kind {
		case honest:
			if assert.NoError(t, err, "run %d (module %s)", i, r.module) {
				assert.Equal(t, "ok\n", outs[i], "run %d", i)
			}
			count[r.store]++
		case spin:
			assert.EqualError(t, err, "Timeout: script exceeded its timeout of 50ms", "run %d", i)
		case bomb:
			assert.EqualError(t, err, "Internal: memory limit exceeded (32MiB)", "run %d", i)
		case hostile:
			want := hammerHostile[r.hostile]
			if want.want == "" {
				assert.NoError(t, err, "run %d (%s) printed %q", i, want.guest, outs[i])
			} else if assert.Error(t, err, "run %d (%s)", i, want.guest) {
				assert.True(t, strings.HasPrefix(err.Error(), want.want), "run %d (%s): %v", i, want.guest, err)
			}
		}
	}

	// Every honest script's data is present and correct, and no increment was lost.
	for _, r := range plan {
		if r.kind != honest {
			continue
		}
		s, ok := h.Store(r.store)
		require.True(t, ok)
		for i, k := range r.keys {
			var got any
			found, err := s.Get(ctx, k, &got)
			require.NoError(t, err, k)
			if assert.True(t, found, "%s lost from %s", k, r.store) {
				assert.Equal(t, r.values[i].goValue, got, "%s in %s", k, r.store)
			}
		}
	}
	for _, id := range []string{"app:a", "app:b"} {
		s, _ := h.Store(id)
		var got int64
		found, err := s.Get(ctx, "hammer:count", &got)
		require.NoError(t, err)
		if count[id] > 0 {
			assert.True(t, found)
		}
		assert.Equal(t, count[id], got, "honest runs counted in %s", id)
	}

	// No goroutine is left behind.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines, "goroutines before the plan: %d", goroutines)

	// The heap is back near its baseline once the pools are empty again. (An idle
	// instance keeps the memory its runs grew, up to 3/4 of its limit, by design.)
	emptyPools(t, h)
	after := heapInuse()
	growth := int64(after) - int64(heap)
	t.Logf("%d runs (%d honest, %d timeouts, %d memory bombs, %d hostile) from %d goroutines in %v; heap %d MiB before, %d MiB after; %d goroutines",
		len(plan), kinds[honest], kinds[spin], kinds[bomb], kinds[hostile], workers, hammered.Round(time.Millisecond), heap>>20, after>>20, goroutines)
	assert.Less(t, growth, int64(16<<20), "the heap grew by %d MiB over the plan", growth>>20)
}

// emptyPools leaves no idle instance in the honest modules' pools: a run that times out
// discards the instance it took.
func emptyPools(t *testing.T, h *host.Host) {
	t.Helper()
	for _, m := range hammerModules {
		for i := 0; h.Idle(m) > 0; i++ {
			require.Less(t, i, 100, "idle instances of %s", m)
			err := h.Run(context.Background(), host.Script{Module: m, Name: "drain.lua", Source: []byte(`while true do end`), Timeout: time.Millisecond})
			require.Error(t, err)
		}
	}
}

func hammerDo(ctx context.Context, h *host.Host, hostiles []*host.Host, r *hammerRun, out ...*safeBuffer) error {
	s := host.Script{Module: r.module, Name: fmt.Sprintf("run%d.lua", r.n), Timeout: 30 * time.Second}
	if len(out) > 0 {
		s.Stdout = out[0]
	}
	switch r.kind {
	case honest:
		s.Source = []byte(r.script())
	case spin:
		s.Source, s.Timeout = []byte(`while true do end`), 50*time.Millisecond
	case bomb:
		s.Source = []byte(`local s = string.rep("x", 2^30) print(#s)`)
	case hostile:
		if hammerHostile[r.hostile].guest == "hostile_store_loop" {
			s.Timeout = 20 * time.Millisecond
		}
		s.Source = []byte(strings.Repeat("-- padding\n", 30))
		return hostiles[r.hostile].Run(ctx, s)
	}
	return h.Run(ctx, s)
}

// TestPoolDropsDiscardedInstances: instances that a pool hands out and then discards
// (here: runs that time out) are garbage, however much memory their runs grew. Four
// instances grow to tens of MiB each and wait idle; each is then taken by a run that
// times out. The heap must come back to where it was.
func TestPoolDropsDiscardedInstances(t *testing.T) { eachGuest(t, testPoolDropsDiscardedInstances) }

func testPoolDropsDiscardedInstances(t *testing.T, guest string) {
	h := newHost(t, testConfig, host.WithLogger(discardLogger()), host.WithDefaultGuest(guest))
	grow := func(module string) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				out, err := runLuaAs(t, h, module, `local s = string.rep("x", 24 * 2^20) print(#s)`)
				assert.NoError(t, err)
				assert.Equal(t, "25165824\n", out)
			})
		}
		wg.Wait()
	}
	grow("m1") // compile and warm up, in a pool of its own
	emptyPools(t, h)
	before := heapInuse()
	recycled := h.PoolStats().Recycled
	grow("m0")
	// Each grown instance is either idle (to be taken by a run that times out) or, when
	// it grew past what a reset keeps, already recycled.
	require.Positive(t, uint64(h.Idle("m0"))+h.PoolStats().Recycled-recycled)
	emptyPools(t, h)
	after := heapInuse()
	growth := int64(after) - int64(before)
	t.Logf("heap %d MiB before, %d MiB after", before>>20, after>>20)
	assert.Less(t, growth, int64(16<<20), "the heap kept %d MiB of discarded instances", growth>>20)
}
