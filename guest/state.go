package main

import (
	lua "github.com/yuin/gopher-lua"
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

// vm is an instance's Lua state. It is built once, on the first run, and reused: a new
// LState costs about 1 ms in wasm, a fresh environment a few microseconds.
type vm struct {
	L *lua.LState
	// pristine holds the globals as newVM left them, out of every script's reach, and
	// errors the pristine errors module.
	pristine map[string]lua.LValue
	errors   *lua.LTable
	// preloadLoader finds package.preload entries. It reads package through its
	// function's environment, so each run gets a copy made in that run's environment.
	preloadLoader lua.LGFunction
}

// newVM returns a VM with the safe libraries (base, table, string, math), the store and
// errors modules, and require limited to those preloaded modules.
func newVM() *vm {
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
	newStoreMetatable(L)
	v := &vm{L: L, pristine: map[string]lua.LValue{}, errors: newErrorsModule(L)}
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
func (v *vm) reset() {
	L := v.L
	L.SetTop(0)
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
	preload.RawSetString("store", L.NewFunction(openStore))
	preload.RawSetString("errors", L.NewFunction(openErrors))
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
