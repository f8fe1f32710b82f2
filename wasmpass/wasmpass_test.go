package wasmpass

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// load reads a module built from testdata/*.wat by `make wat`.
func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".wasm")
	if err != nil {
		t.Fatalf("testdata/%s.wasm is missing: run `make wat`", name)
	}
	return b
}

// Hand-encoded modules, for what wabt 1.0.32 cannot write (try_table) and for
// hostile shapes.
func wasmModule(sections ...[]byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		m = append(m, s...)
	}
	return m
}

func sec(id byte, payload ...byte) []byte {
	return append(appendU32([]byte{id}, uint32(len(payload)), 0), payload...)
}

// codeSec is a code section of one function body.
func codeSec(body ...byte) []byte {
	return sec(10, append(appendU32([]byte{1}, uint32(len(body)), 0), body...)...)
}

// oneFunc is a module with one function of type (func) and the given body.
func oneFunc(body []byte) []byte {
	return wasmModule(sec(1, 1, 0x60, 0, 0), sec(3, 1, 0), codeSec(body...))
}

// tryTable: (func (export "f") (param i32) (result i32)) that throws its argument
// inside a try_table and catches it.
var tryTable = wasmModule(
	sec(1, 2, 0x60, 1, 0x7F, 0, 0x60, 1, 0x7F, 1, 0x7F),
	sec(3, 1, 1),
	sec(13, 1, 0, 0),
	sec(7, 1, 1, 'f', 0, 0),
	codeSec(0,
		0x02, 0x7F, // block (result i32)
		0x1F, 0x40, 1, 0, 0, 0, // try_table (catch $tag 0)
		0x03, 0x40, 0x0B, // an empty loop, to be instrumented
		0x20, 0, 0x08, 0, // local.get 0, throw 0
		0x0B, 0x41, 0, 0x0B, 0x0B))

// harness instantiates modules with the imports they need and counts the checks.
type harness struct {
	ctx     context.Context
	rt      wazero.Runtime
	checks  int
	stopAt  int   // the check panics at this call (0: never)
	reset   int32 // countdown value the check sets
	n       int
	logged  []uint32
	stopped error
}

var errStopped = errors.New("stopped by the check")

func newHarness(t *testing.T) *harness {
	h := &harness{ctx: context.Background(), reset: 1000}
	h.rt = newRuntime(h.ctx)
	t.Cleanup(func() { h.rt.Close(h.ctx) })
	_, err := h.rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(a, b uint32) uint32 { return a + b }).Export("add").
		NewFunctionBuilder().WithFunc(func(v uint32) { h.logged = append(h.logged, v) }).Export("log").
		Instantiate(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.rt.NewHostModuleBuilder(PreemptModule).
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module) {
		h.checks++
		m.ExportedGlobal(CountdownExport).(api.MutableGlobal).Set(api.EncodeI32(h.reset))
		if h.checks == h.stopAt {
			panic(errStopped)
		}
	}).Export(PreemptFunc).Instantiate(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) instantiate(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	h.n++
	cfg := wazero.NewModuleConfig().WithName("m" + strings.Repeat("x", h.n)).WithStartFunctions()
	m, err := h.rt.InstantiateWithConfig(h.ctx, wasm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f := m.ExportedFunction("_start"); f != nil {
		t.Fatal("unexpected _start")
	}
	return m
}

// The rewritten module computes what the original computes.
func TestPreemptSameResults(t *testing.T) {
	calls := []struct {
		fn   string
		args []uint64
	}{
		{"fib", []uint64{10}}, {"fib", []uint64{0}},
		{"pick", []uint64{0}}, {"pick", []uint64{1}}, {"pick", []uint64{2}}, {"pick", []uint64{7}},
		{"indirect", []uint64{0, 5}}, {"indirect", []uint64{1, 5}}, {"indirect", []uint64{2, 7}},
		{"indirect", []uint64{3, 1}}, {"indirect", []uint64{6, 1}},
		{"indirect2", []uint64{7}}, {"viaglobal", []uint64{4}}, {"reffunc", nil},
		{"tail", []uint64{0}}, {"tail", []uint64{3}}, {"multi", []uint64{3}},
		{"bulk", nil}, {"numeric", []uint64{math.Float64bits(-12.7)}}, {"simd", nil},
	}
	src := load(t, "features")
	out, rep, err := Rewrite(src, Options{Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Functions != 17 || rep.ImportedFuncs != 2 || rep.Loops != 3 || !rep.UsesMemoryInit || !rep.UsesDataDrop || !rep.HasStart {
		t.Fatalf("report: %+v", rep)
	}
	h := newHarness(t)
	for _, c := range calls {
		var results [2][]uint64
		var errs [2]error
		var logs [2][]uint32
		for i, wasm := range [][]byte{src, out} {
			m := h.instantiate(t, wasm) // a fresh instance: start ran, state is equal
			h.logged = nil
			results[i], errs[i] = m.ExportedFunction(c.fn).Call(h.ctx, c.args...)
			logs[i] = h.logged
		}
		if !reflect.DeepEqual(results[0], results[1]) || (errs[0] == nil) != (errs[1] == nil) || !reflect.DeepEqual(logs[0], logs[1]) {
			t.Errorf("%s%v: original %v %v %v, rewritten %v %v %v", c.fn, c.args, results[0], errs[0], logs[0], results[1], errs[1], logs[1])
		}
	}
	if h.checks != 0 {
		t.Errorf("%d checks fired in short runs with a countdown of %d", h.checks, CountdownStart)
	}
	// try_table and throw, hand-encoded.
	out, _, err = Rewrite(tryTable, Options{Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.instantiate(t, out).ExportedFunction("f").Call(h.ctx, 41)
	if err != nil || r[0] != 41 {
		t.Fatalf("try_table: %v %v", r, err)
	}
}

// The checks fire where a guest could run forever, and only there.
func TestPreemptChecksFire(t *testing.T) {
	out, _, err := Rewrite(load(t, "features"), Options{Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fn        string
		args      []uint64
		countdown int32
		stopAt    int
		checks    int
	}{
		{"spin", nil, 1000, 3, 3},      // a loop with no call: at its header
		{"recurse", nil, 10, 1, 1},     // recursion without a loop: at function entry
		{"pick", []uint64{1}, 1, 0, 0}, // no loop, no call: no check
		{"fib", []uint64{5}, 1, 0, 7},  // entry (it calls), and the loop header 6 times
	} {
		h := newHarness(t)
		h.stopAt = c.stopAt
		h.reset = c.countdown
		m := h.instantiate(t, out)
		m.ExportedGlobal(CountdownExport).(api.MutableGlobal).Set(api.EncodeI32(c.countdown))
		_, err := m.ExportedFunction(c.fn).Call(h.ctx, c.args...)
		if c.stopAt != 0 && !errors.Is(err, errStopped) {
			t.Errorf("%s: want the check to stop it, got %v", c.fn, err)
		}
		if c.stopAt == 0 && err != nil {
			t.Errorf("%s: %v", c.fn, err)
		}
		if h.checks != c.checks {
			t.Errorf("%s: %d checks, want %d", c.fn, h.checks, c.checks)
		}
	}
}

// The snapshot variant: no data, no start, every defined mutable global exported.
func TestSnapshot(t *testing.T) {
	src := load(t, "snap")
	for _, preempt := range []bool{false, true} {
		out, rep, err := Rewrite(src, Options{Snapshot: true, Preempt: preempt})
		if err != nil {
			t.Fatal(err)
		}
		want := []Global{
			{Index: 0, Type: 0x7F, Mutable: true, Imported: true},
			{Index: 1, Type: 0x7F, Mutable: true, Export: "wasmkv_global_1"},
			{Index: 2, Type: 0x7E},
			{Index: 3, Type: 0x7E, Mutable: true, Export: "wasmkv_global_3"},
		}
		if !reflect.DeepEqual(rep.Globals, want) || rep.MutableGlobals != 3 || rep.ImportedMutableGlobals != 1 {
			t.Fatalf("globals: %+v", rep)
		}
		if len(rep.ActiveData) != 1 || rep.ActiveData[0].Offset != 8 || !rep.ActiveData[0].ConstOffset || string(rep.ActiveData[0].Bytes) != "snapshot" {
			t.Fatalf("active data: %+v", rep.ActiveData)
		}
		if seg := rep.ActiveData[0]; string(src[seg.At:seg.At+len(seg.Bytes)]) != "snapshot" {
			t.Fatalf("active data at %d of the input: %q", seg.At, src[seg.At:seg.At+len(seg.Bytes)])
		}
		if rep.DataBytes != 8 || rep.DataSegments != 1 || rep.MemoryMin != 1 || rep.MemoryMax != 4 || !rep.HasMemoryMax || rep.MemoryShared || !rep.HasStart {
			t.Fatalf("report: %+v", rep)
		}
		h := newHarness(t)
		// The imported global, from a module named like "env" (same length, so the
		// bytes can be patched).
		imp := wasmModule(sec(6, 1, 0x7F, 1, 0x41, 5, 0x0B), sec(7, 1, 6, 's', 'h', 'a', 'r', 'e', 'd', 3, 0))
		if _, err := h.rt.InstantiateWithConfig(h.ctx, imp, wazero.NewModuleConfig().WithName("nv2")); err != nil {
			t.Fatal(err)
		}
		out = bytes.Replace(out, []byte("\x03env\x06shared"), []byte("\x03nv2\x06shared"), 1) // same length
		orig := bytes.Replace(src, []byte("\x03env\x06shared"), []byte("\x03nv2\x06shared"), 1)
		m := h.instantiate(t, out)
		if r, _ := m.ExportedFunction("get").Call(h.ctx); r[0] != 1 {
			t.Errorf("start ran: global is %d", r[0])
		}
		if r, _ := m.ExportedFunction("byte").Call(h.ctx); r[0] != 0 {
			t.Errorf("data segment applied: %d", r[0])
		}
		if g := m.ExportedGlobal("wasmkv_global_3"); g == nil || g.Get() != 3 {
			t.Errorf("global 3 not exported: %v", g)
		}
		if g := m.ExportedGlobal("wasmkv_global_1"); g == nil || g.Get() != 1 {
			t.Errorf("global 1 not exported: %v", g)
		}
		if (m.ExportedGlobal(CountdownExport) != nil) != preempt || m.ExportedGlobal("wasmkv_global_4") != nil {
			t.Errorf("countdown export wrong (preempt %v)", preempt)
		}
		if r, _ := h.instantiate(t, orig).ExportedFunction("get").Call(h.ctx); r[0] != 100 {
			t.Errorf("original: %d", r[0])
		}
	}
	// memory.init and data.drop need the data the variant drops.
	_, _, err := Rewrite(load(t, "features"), Options{Snapshot: true})
	if err == nil || !strings.Contains(err.Error(), "memory.init") {
		t.Fatalf("want a refusal, got %v", err)
	}
}

// Decoding and re-encoding every immediate, count and size changes nothing.
func TestRoundTrip(t *testing.T) {
	inputs := map[string][]byte{"features": load(t, "features"), "snap": load(t, "snap"), "try_table": tryTable}
	for _, path := range []string{"../host/guest.wasm", "../examples/plugin-go/plugin.wasm"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v: run `make guest plugins`", err)
		}
		inputs[path] = b
	}
	for name, src := range inputs {
		m := decode(src, Limits{})
		m.force = true
		if out := encode(m, plan{}); !bytes.Equal(out, src) {
			t.Errorf("%s: re-encoded module differs", name)
		}
		if out, _, err := Rewrite(src, Options{}); err != nil || !bytes.Equal(out, src) {
			t.Errorf("%s: Rewrite without transforms changed it (%v)", name, err)
		}
	}
}

// The name section keeps its names, shifted, and names the added import.
func TestNameSection(t *testing.T) {
	names := []byte{4, 'n', 'a', 'm', 'e'}
	sub := []byte{3, 0, 3, 'a', 'd', 'd', 2, 4, 'i', 'n', 'i', 't', 5, 3, 'f', 'i', 'b'}
	names = append(append(names, 1, byte(len(sub))), sub...)
	src := append(load(t, "features"), sec(0, names...)...)
	out, _, err := Rewrite(src, Options{Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := newRuntime(ctx)
	defer rt.Close(ctx)
	c, err := rt.CompileModule(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range c.ImportedFunctions() {
		module, name, _ := f.Import()
		got[module+"."+name] = f.Name()
	}
	if got["env.add"] != "add" || got[PreemptModule+"."+PreemptFunc] != PreemptModule+"."+PreemptFunc {
		t.Errorf("import names: %v", got)
	}
	if n := c.ExportedFunctions()["fib"].Name(); n != "fib" {
		t.Errorf("fib is named %q", n)
	}
}

// Modules the rewrite must refuse: already instrumented, unknown opcodes, anything
// truncated. Malformed ones are *Error, never *LimitError, and never an internal error.
func TestRefused(t *testing.T) {
	src := load(t, "features")
	once, _, err := Rewrite(src, Options{Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Rewrite(once, Options{Preempt: true}); err == nil || !strings.Contains(err.Error(), PreemptModule) {
		t.Errorf("instrumented twice: %v", err)
	}
	for name, wasm := range map[string][]byte{
		"legacy try":        oneFunc([]byte{0, 0x06, 0x40, 0x0B, 0x0B}),
		"call_ref":          oneFunc([]byte{0, 0x14, 0, 0x0B}),
		"relaxed simd":      oneFunc([]byte{0, 0xFD, 0x80, 0x02, 0x0B}),
		"unassigned 0xFC":   oneFunc([]byte{0, 0xFC, 18, 0x0B}),
		"call out of range": oneFunc([]byte{0, 0x10, 1, 0x0B}),
		"long leb":          oneFunc([]byte{0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1A, 0x0B}),
		"u32 too big":       oneFunc([]byte{0, 0x20, 0x80, 0x80, 0x80, 0x80, 0x10, 0x0B}),
		"no end":            oneFunc([]byte{0, 0x01}),
		"gc type":           wasmModule(sec(1, 1, 0x5F, 0)),
		"memory64":          wasmModule(sec(5, 1, 4, 1)),
		"bad version":       []byte("\x00asm\x02\x00\x00\x00"),
		"out of order":      wasmModule(sec(3, 0), sec(1, 0)),
		// wazero v1.12 panics compiling this one (index out of range in its validation
		// of a try_table that catches the tag): the pass must refuse it first.
		"tag type out of range": wasmModule(sec(1, 1, 0x60, 1, 0x7F, 0), sec(13, 1, 0, 0x30)),
	} {
		_, _, err := Rewrite(wasm, Options{Preempt: true})
		var e *Error
		if !errors.As(err, &e) || strings.Contains(err.Error(), "internal error") || !strings.HasPrefix(err.Error(), "wasmpass: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	for n := range src {
		out, _, err := Rewrite(src[:n], Options{Preempt: true})
		if err != nil && strings.Contains(err.Error(), "internal error") ||
			err == nil && compiles(t, src[:n]) == nil && compiles(t, out) != nil {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
}

// Every limit is enforced, and named in the error.
func TestLimits(t *testing.T) {
	src := load(t, "features")
	locals := oneFunc([]byte{1, 0x80, 0xE1, 0xEB, 0x17, 0x7E, 0x0B}) // 50 million i64 locals
	deep := append(bytes.Repeat([]byte{0x02, 0x40}, 100_000), bytes.Repeat([]byte{0x0B}, 100_001)...)
	table := append(appendU32([]byte{0, 0x41, 0, 0x0E}, 100_000, 0), make([]byte, 100_001)...)
	cases := map[string]struct {
		wasm []byte
		l    Limits
	}{
		"MaxModuleBytes":       {src, Limits{MaxModuleBytes: 100}},
		"MaxFunctions":         {src, Limits{MaxFunctions: 3}},
		"MaxFunctionBodyBytes": {src, Limits{MaxFunctionBodyBytes: 10}},
		"MaxLocalsPerFunction": {locals, Limits{}},
		"MaxNestingDepth":      {oneFunc(append([]byte{0}, deep...)), Limits{}},
		"MaxBrTableTargets":    {oneFunc(append(table, 0x0B)), Limits{}},
		"MaxTypes":             {src, Limits{MaxTypes: 1}},
		"MaxImports":           {src, Limits{MaxImports: 1}},
		"MaxExports":           {src, Limits{MaxExports: 1}},
		"MaxGlobals":           {src, Limits{MaxGlobals: 2}},
		"MaxDataSegments":      {src, Limits{MaxDataSegments: 1}},
		"MaxElementSegments":   {src, Limits{MaxElementSegments: 1}},
		"MaxTableElements":     {src, Limits{MaxTableElements: 4}},
		"MaxTables":            {src, Limits{MaxTables: 1}},
		"MaxMemories":          {wasmModule(sec(2, 1, 1, 'm', 1, 'm', 2, 0, 1), sec(5, 1, 0, 1)), Limits{}},
		"MaxTags":              {tryTable, Limits{MaxTags: 0xFFFF_FFFF_FFFF_FFFF >> 64}},
		"MaxParamsResults":     {src, Limits{MaxParamsResults: 1}},
	}
	cases["MaxTags"] = struct {
		wasm []byte
		l    Limits
	}{wasmModule(sec(1, 1, 0x60, 0, 0), sec(13, 2, 0, 0, 0, 0)), Limits{MaxTags: 1}}
	lt := reflect.TypeOf(Limits{})
	for i := range lt.NumField() {
		if _, ok := cases[lt.Field(i).Name]; !ok {
			t.Errorf("no test for %s", lt.Field(i).Name)
		}
	}
	for name, c := range cases {
		if _, err := Check(c.wasm, DefaultLimits()); err != nil && name != "MaxLocalsPerFunction" && name != "MaxNestingDepth" && name != "MaxBrTableTargets" && name != "MaxMemories" {
			t.Errorf("%s: the module is refused by the default limits: %v", name, err)
		}
		_, err := Check(c.wasm, c.l)
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != name || le.Value <= le.Max || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Sections the rewrite adds to are written in their place when the module has none.
func TestMissingSections(t *testing.T) {
	for name, src := range map[string][]byte{
		"empty":          wasmModule(),
		"custom only":    wasmModule(sec(0, 1, 'x', 1, 2, 3)),
		"one function":   oneFunc([]byte{0, 0x03, 0x40, 0x0B, 0x0B}),
		"mutable global": wasmModule(sec(0, 1, 'x'), sec(6, 1, 0x7E, 1, 0x42, 9, 0x0B), sec(0, 1, 'y')),
	} {
		out, _, err := Rewrite(src, Options{Preempt: true, Snapshot: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := compiles(t, out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h := newHarness(t)
		m := h.instantiate(t, out)
		if g := m.ExportedGlobal(CountdownExport); g == nil || g.Get() != CountdownStart {
			t.Errorf("%s: countdown %v", name, g)
		}
		if name == "mutable global" && m.ExportedGlobal(GlobalExportPrefix+"0").Get() != 9 {
			t.Errorf("%s: global not exported", name)
		}
	}
}

// The report says when the memory is shared: the host cannot snapshot a memory other
// threads could write.
func TestReportSharedMemory(t *testing.T) {
	for _, c := range []struct {
		flags  byte
		shared bool
	}{{1, false}, {3, true}} {
		rep, err := Check(wasmModule(sec(5, 1, c.flags, 1, 2)), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if rep.MemoryShared != c.shared || rep.MemoryMin != 1 || rep.MemoryMax != 2 {
			t.Errorf("limits flags %d: %+v", c.flags, rep)
		}
	}
}
