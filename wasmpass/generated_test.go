package wasmpass

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
)

// gen writes random, terminating programs: functions of type (i32, i32) -> i32 whose
// bodies nest arithmetic, bounded loops, blocks with br_if, if/else, direct, indirect
// and tail calls (only to later functions, so every run ends).
type gen struct {
	rnd   *rand.Rand
	n     int // functions
	fn    int // the function being written
	depth int
}

const genMaxDepth = 4

func (g *gen) expr(out []byte) []byte {
	g.depth++
	defer func() { g.depth-- }()
	choice := g.rnd.IntN(9)
	if g.depth >= genMaxDepth {
		choice = g.rnd.IntN(2)
	}
	later := g.fn + 1 + g.rnd.IntN(max(g.n-g.fn-1, 1))
	if later >= g.n {
		choice = min(choice, 4)
	}
	switch choice {
	case 0:
		return appendS32(append(out, 0x41), g.rnd.Int32())
	case 1:
		return append(out, 0x20, byte(g.rnd.IntN(3)))
	case 2, 3: // add sub mul and or xor shl rotl
		ops := []byte{0x6A, 0x6B, 0x6C, 0x71, 0x72, 0x73, 0x74, 0x77}
		return append(g.expr(g.expr(out)), ops[g.rnd.IntN(len(ops))])
	case 4: // a loop of k iterations updating local 2
		k := byte(1 + g.rnd.IntN(20))
		c := byte(2 + g.depth) // the loop counter, one local per nesting level
		out = append(out, 0x41, k, 0x21, c, 0x03, 0x40)
		out = g.expr(out)
		out = append(out, 0x20, 2, 0x6A, 0x21, 2, 0x20, c, 0x41, 1, 0x6B, 0x22, c, 0x0D, 0, 0x0B, 0x20, 2)
		return out
	case 5: // if/else
		out = append(g.expr(out), 0x04, 0x7F)
		return append(g.expr(append(g.expr(out), 0x05)), 0x0B)
	case 6: // block: E1 E2 br_if 0 drop E3
		out = append(g.expr(g.expr(append(out, 0x02, 0x7F))), 0x0D, 0, 0x1A)
		return append(g.expr(out), 0x0B)
	case 7:
		return appendU32(append(g.expr(g.expr(out)), 0x10), uint32(later), 0)
	default: // call_indirect through the table
		out = appendU32(append(g.expr(g.expr(out)), 0x41), uint32(later), 0)
		return append(out, 0x11, 0, 0)
	}
}

func (g *gen) module() []byte {
	var funcs, exports, elems, code []byte
	funcs = appendU32(funcs, uint32(g.n), 0)
	exports = appendU32(exports, uint32(g.n), 0)
	elems = appendU32([]byte{1, 0, 0x41, 0, 0x0B}, uint32(g.n), 0)
	code = appendU32(code, uint32(g.n), 0)
	for g.fn = 0; g.fn < g.n; g.fn++ {
		funcs = append(funcs, 0)
		name := "f" + strconv.Itoa(g.fn)
		exports = appendU32(append(appendName(exports, name), 0), uint32(g.fn), 0)
		elems = appendU32(elems, uint32(g.fn), 0)
		body := []byte{1, 1 + genMaxDepth, 0x7F}
		body = g.expr(body)
		if later := g.fn + 1; later < g.n && g.rnd.IntN(3) == 0 {
			body = g.expr(g.expr(append(body, 0x1A))) // drop; E E; return_call
			body = appendU32(append(body, 0x12), uint32(later), 0)
		}
		body = append(body, 0x0B)
		code = append(appendU32(code, uint32(len(body)), 0), body...)
	}
	return wasmModule(sec(1, 1, 0x60, 2, 0x7F, 0x7F, 1, 0x7F), sec(3, funcs...),
		sec(4, append([]byte{1, 0x70, 0}, appendU32(nil, uint32(g.n), 0)...)...),
		sec(7, exports...), sec(9, elems...), sec(10, code...))
}

// Random programs compute the same results instrumented, with checks firing often.
func TestGeneratedSameResults(t *testing.T) {
	checks, loops := 0, 0
	for seed := range uint64(40) {
		g := &gen{rnd: rand.New(rand.NewPCG(seed, 1)), n: 1 + int(seed%6)}
		src := g.module()
		out, rep, err := Rewrite(src, Options{Preempt: true})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		h := newHarness(t)
		h.reset = 3 // a check every few loop iterations or calls
		orig, inst := h.instantiate(t, src), h.instantiate(t, out)
		inst.ExportedGlobal(CountdownExport).(interface{ Set(uint64) }).Set(3)
		for i := range g.n {
			name := "f" + strconv.Itoa(i)
			args := []uint64{uint64(g.rnd.Uint32()), uint64(g.rnd.Uint32())}
			want, err1 := orig.ExportedFunction(name).Call(h.ctx, args...)
			got, err2 := inst.ExportedFunction(name).Call(h.ctx, args...)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(want, got) {
				t.Fatalf("seed %d %s%v: original %v %v, instrumented %v %v", seed, name, args, want, err1, got, err2)
			}
		}
		checks += h.checks
		loops += rep.Loops
	}
	if checks < 100 || loops < 20 { // the programs must exercise the checks
		t.Fatalf("%d checks fired, %d loops", checks, loops)
	}
}
