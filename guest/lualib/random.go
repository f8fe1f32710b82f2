package lualib

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"math"
	"math/rand/v2"

	lua "github.com/yuin/gopher-lua"
)

// math.random and math.randomseed are the VM's own. gopher-lua's use Go's global
// math/rand, whose Seed does nothing since Go 1.24 (so math.randomseed(42) twice gave two
// sequences), and whose state lives as long as the instance (so one run's draws moved the
// next run's numbers). Here each run starts from a fresh seed read from crypto/rand
// (in a guest, the host's random source, which the host makes its cryptographic one),
// and math.randomseed(n) makes the rest of the run reproducible.
type random struct {
	src *rand.PCG
	gen *rand.Rand
}

// installRandom replaces the math library's random functions. It runs once per VM,
// before the pristine libraries are recorded.
func (v *VM) installRandom(L *lua.LState) {
	v.random.src = rand.NewPCG(0, 0)
	v.random.gen = rand.New(v.random.src)
	m := L.GetGlobal(lua.MathLibName).(*lua.LTable)
	m.RawSetString("random", L.NewFunction(v.mathRandom))
	m.RawSetString("randomseed", L.NewFunction(v.mathRandomseed))
}

// reseedRandom gives a run its own random state, unpredictable to every script.
func (v *VM) reseedRandom() {
	var b [16]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		panic("lualib: no random source: " + err.Error()) // crypto/rand does not fail
	}
	v.random.src.Seed(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:]))
}

// mathRandom is Lua 5.1's math.random: no argument, a float in [0,1); m, an integer in
// [1,m]; m and n, an integer in [m,n].
func (v *VM) mathRandom(L *lua.LState) int {
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(v.random.gen.Float64()))
		return 1
	case 1, 2:
	default:
		text := "wrong number of arguments"
		if pos := L.Where(1); pos != "" {
			text = pos + " " + text
		}
		L.Error(lua.LString(text), 0)
	}
	lo, hi := int64(1), int64(L.CheckNumber(1))
	if L.GetTop() == 2 {
		lo, hi = hi, int64(L.CheckNumber(2))
	}
	if lo > hi {
		argError(L, L.GetTop(), "random", "interval is empty")
	}
	span := uint64(hi) - uint64(lo) // the interval's width minus one, without overflow
	var r uint64
	if span == math.MaxUint64 {
		r = v.random.gen.Uint64()
	} else {
		r = v.random.gen.Uint64N(span + 1)
	}
	L.Push(lua.LNumber(lo + int64(r)))
	return 1
}

// mathRandomseed makes the run's sequence from here on a function of n alone.
func (v *VM) mathRandomseed(L *lua.LState) int {
	v.random.src.Seed(math.Float64bits(float64(L.CheckNumber(1))), 0)
	return 0
}
