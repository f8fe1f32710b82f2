package main

import (
	lua "github.com/yuin/gopher-lua"
)

// Bounds on the Lua VM, so that deep recursion is a Lua "stack overflow" error rather
// than an allocation that runs into the instance's memory limit.
const (
	callStackSize   = 200
	registrySize    = 1024 * 20
	registryMaxSize = 1024 * 256
)

// Globals removed from the base library: each reaches the file system, or prints the
// VM's internals.
var unsafeGlobals = []string{"dofile", "loadfile", "module", "_printregs"}

// newState returns a VM with the safe libraries (base, table, string, math), the store
// and errors modules, and require limited to those preloaded modules.
func newState() *lua.LState {
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
	// require finds preloaded modules and nothing else: no path search, no C loaders.
	pkg := L.GetGlobal("package").(*lua.LTable)
	loaders := L.CreateTable(1, 0)
	loaders.RawSetInt(1, pkg.RawGetString("loaders").(*lua.LTable).RawGetInt(1))
	pkg.RawSetString("loaders", loaders)
	L.SetField(L.Get(lua.RegistryIndex), "_LOADERS", loaders)
	pkg.RawSetString("path", lua.LString(""))
	pkg.RawSetString("cpath", lua.LString(""))

	installProtectedCalls(L)
	L.PreloadModule("store", openStore)
	L.PreloadModule("errors", openErrors)
	// errors is also a global, as the spec's own examples use it without require.
	L.SetGlobal("errors", errorsModule(L))
	return L
}
