package lualib

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/hostcall"
)

// Bounds on the Lua VM, so that deep recursion is a Lua "stack overflow" error rather
// than an allocation that runs into the instance's memory limit.
const (
	callStackSize   = 200
	registrySize    = 1024 * 4 // grows on demand up to registryMaxSize
	registryMaxSize = 1024 * 256
)

// Globals removed from the base library: each reaches the file system, or prints the
// VM's internals.
var unsafeGlobals = []string{"dofile", "loadfile", "module", "_printregs"}

// libraries are the global tables that each run gets a copy of.
var libraries = []string{lua.TabLibName, lua.StringLibName, lua.MathLibName}

// VM is an instance's Lua state with the store and errors modules. It is built once, on
// the first run, and reused: a new LState costs milliseconds in wasm, a fresh
// environment a few microseconds.
type VM struct {
	L *lua.LState
	// client reaches the host; open lists the store handles a run has not released, so
	// the run can release them at its end; valueBuf is reused for encoding values (the
	// request copies it into its own buffer).
	client   *hostcall.Client
	resp     abi.Response // keyCall's, reused
	open     map[*storeHandle]struct{}
	valueBuf []byte
	chunks   chunkCache
	random   random
	// pristine holds the globals as New left them, out of every script's reach, and
	// errors the pristine errors module.
	pristine map[string]lua.LValue
	errors   *lua.LTable
	// built records every table reset made for the last run, with its contents then, so
	// that the next run can reuse them when the script changed none of them.
	built []snapshot
	// preloadLoader finds package.preload entries. It reads package through its
	// function's environment, so each run gets a copy made in that run's environment.
	preloadLoader lua.LGFunction
}

// New returns a VM that calls the host through t, with the safe libraries (base, table,
// string, math), the store and errors modules, and require limited to those preloaded
// modules. The guest and the benchmarks' native baseline both build their VM here, so
// they run with the same options, libraries and modules.
func New(t hostcall.Transport) *VM {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:    true,
		CallStackSize:   callStackSize,
		RegistrySize:    registrySize,
		RegistryMaxSize: registryMaxSize,
	})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage}, // for require and package.preload only
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, name := range unsafeGlobals {
		L.SetGlobal(name, lua.LNil)
	}
	installProtectedCalls(L)
	v := &VM{L: L, pristine: map[string]lua.LValue{}, errors: newErrorsModule(L),
		client: hostcall.NewClient(t), open: map[*storeHandle]struct{}{}, chunks: newChunkCache()}
	v.newStoreMetatable(L)
	v.installRandom(L)
	pkg := L.GetGlobal("package").(*lua.LTable)
	v.preloadLoader = pkg.RawGetString("loaders").(*lua.LTable).RawGetInt(1).(*lua.LFunction).GFunction
	L.G.Global.ForEach(func(k, val lua.LValue) {
		if name, ok := k.(lua.LString); ok && name != "_G" && name != "package" {
			v.pristine[string(name)] = val
		}
	})
	return v
}

// reset gives the next run a fresh global environment, so nothing one script does to
// its globals, the libraries, package or the modules reaches the next script.
func (v *VM) reset() {
	L := v.L
	L.SetTop(0)
	// A script that used only locals leaves its environment as it found it, and the next
	// run may reuse it: rebuilding costs hundreds of allocations, about 2 ms in wasm.
	if v.intact() {
		return
	}
	v.build()
}

// afterRun undoes what every run that requires the store or json module does to
// package.loaded, so that such a run still leaves its environment intact. Both modules
// are a fresh table for each run that asks, so forgetting them is safe.
func (v *VM) afterRun() {
	if loaded, ok := v.L.Get(lua.RegistryIndex).(*lua.LTable).RawGetString("_LOADED").(*lua.LTable); ok {
		loaded.RawSetString("store", lua.LNil)
		loaded.RawSetString("json", lua.LNil)
	}
}

// emptyString is boxed once: it only selects the string metatable.
var emptyString lua.LValue = lua.LString("")

// snapshot is a table and its contents when it was built.
type snapshot struct {
	t    *lua.LTable
	keys []lua.LValue
	vals []lua.LValue
}

func snap(t *lua.LTable) snapshot {
	s := snapshot{t: t}
	for k, val := t.Next(lua.LNil); k != lua.LNil; k, val = t.Next(k) {
		s.keys = append(s.keys, k)
		s.vals = append(s.vals, val)
	}
	return s
}

// intact reports whether every table of the last build still has exactly its contents
// and no metatable, and the VM still points at them.
func (v *VM) intact() bool {
	if len(v.built) == 0 || v.L.Env != v.built[0].t || v.L.G.Global != v.built[0].t {
		return false
	}
	if mt, ok := v.L.GetMetatable(emptyString).(*lua.LTable); !ok || mt != v.built[1].t {
		return false
	}
	for _, s := range v.built {
		if s.t.Metatable != lua.LNil {
			return false
		}
		// Next walks keys that are already boxed: counting this way allocates nothing.
		n := 0
		for k, _ := s.t.Next(lua.LNil); k != lua.LNil; k, _ = s.t.Next(k) {
			n++
		}
		if n != len(s.keys) {
			return false
		}
		for i, k := range s.keys {
			if s.t.RawGet(k) != s.vals[i] {
				return false
			}
		}
	}
	return true
}

// build makes the environment afresh: globals, library tables, package, the errors module.
func (v *VM) build() {
	L := v.L
	env := L.CreateTable(0, len(v.pristine)+4)
	for name, val := range v.pristine {
		env.RawSetString(name, val)
	}
	loaded := L.CreateTable(0, 8)
	for _, name := range libraries {
		lib := copyTable(L, v.pristine[name].(*lua.LTable))
		env.RawSetString(name, lib)
		loaded.RawSetString(name, lib)
	}
	env.RawSetString("_G", env)
	loaded.RawSetString("_G", env)
	L.Env, L.G.Global = env, env

	// require finds preloaded modules and nothing else: no path search, no C loaders.
	loaders := L.CreateTable(1, 0)
	loaders.RawSetInt(1, L.NewFunction(v.preloadLoader))
	preload := L.CreateTable(0, 2)
	preload.RawSetString("store", L.NewFunction(v.openStore))
	preload.RawSetString("errors", L.NewFunction(openErrors))
	preload.RawSetString("json", L.NewFunction(openJSON))
	pkg := L.CreateTable(0, 5)
	pkg.RawSetString("loaded", loaded)
	pkg.RawSetString("loaders", loaders)
	pkg.RawSetString("preload", preload)
	pkg.RawSetString("path", lua.LString(""))
	pkg.RawSetString("cpath", lua.LString(""))
	env.RawSetString("package", pkg)
	loaded.RawSetString("package", pkg)
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	reg.RawSetString("_LOADED", loaded)
	reg.RawSetString("_LOADERS", loaders)

	// Strings' methods come from this run's string table.
	strMeta := L.CreateTable(0, 1)
	strMeta.RawSetString("__index", env.RawGetString(lua.StringLibName))
	L.SetMetatable(lua.LString(""), strMeta)

	// errors is also a global, as the spec's own examples use it without require.
	errs := copyTable(L, v.errors)
	reg.RawSetString(errorsRegistryKey, errs)
	env.RawSetString("errors", errs)

	// env first and the string metatable second: intact relies on the order.
	v.built = append(v.built[:0], snap(env), snap(strMeta), snap(loaded), snap(loaders), snap(preload), snap(pkg), snap(errs))
	for _, name := range libraries {
		v.built = append(v.built, snap(env.RawGetString(name).(*lua.LTable)))
	}
}

// copyTable makes a shallow copy, sized up front: Len counts only the array part, and a
// library table grown one key at a time costs a rehash per doubling.
func copyTable(L *lua.LState, t *lua.LTable) *lua.LTable {
	n := 0
	t.ForEach(func(lua.LValue, lua.LValue) { n++ })
	c := L.CreateTable(0, n)
	t.ForEach(func(k, v lua.LValue) { c.RawSet(k, v) })
	return c
}
