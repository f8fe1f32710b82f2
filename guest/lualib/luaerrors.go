package lualib

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
)

const errorTypeName = "errors.Error"

// errorsRegistryKey holds this run's errors module.
const errorsRegistryKey = "wasmkv.errors"

// newErrorsModule builds the errors module and the error objects' metatable, once per VM.
// The metatable hides itself (__metatable), so no script can change the methods of the
// error objects a later run creates; each run gets its own copy of the module table.
func newErrorsModule(L *lua.LState) *lua.LTable {
	mt := newTypeMetatable(L, errorTypeName)
	L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"kind":      func(L *lua.LState) int { L.Push(lua.LString(checkError(L).Kind)); return 1 },
		"message":   func(L *lua.LState) int { L.Push(lua.LString(checkError(L).Message)); return 1 },
		"retryable": func(L *lua.LState) int { L.Push(lua.LBool(checkError(L).Retryable)); return 1 },
	}))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(checkError(L).Error()))
		return 1
	}))
	L.SetField(mt, "__metatable", lua.LFalse)
	mod := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{"new": errorsNew, "is": errorsIs})
	for _, k := range abi.KindNames() {
		mod.RawSetString(k.Name, lua.LString(k.Kind))
	}
	return mod
}

// errorsModule returns this run's errors module, so that the global and
// require("errors") are one table.
func errorsModule(L *lua.LState) *lua.LTable {
	return L.Get(lua.RegistryIndex).(*lua.LTable).RawGetString(errorsRegistryKey).(*lua.LTable)
}

func openErrors(L *lua.LState) int {
	L.Push(errorsModule(L))
	return 1
}

// newTypeMetatable registers a new metatable for a userdata type. Unlike
// L.NewTypeMetatable it never returns an earlier run's table, which that run's script may
// have changed.
func newTypeMetatable(L *lua.LState, name string) *lua.LTable {
	mt := L.NewTable()
	L.SetField(L.Get(lua.RegistryIndex), name, mt)
	return mt
}

// newErrorValue returns e as an error object.
func newErrorValue(L *lua.LState, e *abi.Error) lua.LValue {
	ud := L.NewUserData()
	ud.Value = e
	L.SetMetatable(ud, L.GetTypeMetatable(errorTypeName))
	return ud
}

func checkError(L *lua.LState) *abi.Error {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if e, ok := ud.Value.(*abi.Error); ok {
			return e
		}
	}
	typeError(L, 1, "error method", "error object", L.Get(1))
	return nil
}

// errorsNew accepts errors.new(kind, message), errors.new({kind=, message=, retryable=})
// and errors.new(message), which has kind Unknown.
func errorsNew(L *lua.LState) int {
	var e *abi.Error
	switch a := L.Get(1).(type) {
	case *lua.LTable:
		kind := abi.Unknown
		if kv := a.RawGetString("kind"); kv != lua.LNil {
			kind = checkKind(L, 1, kv)
		}
		e = abi.NewError(kind, lua.LVAsString(a.RawGetString("message")))
		if r, ok := a.RawGetString("retryable").(lua.LBool); ok {
			e.Retryable = bool(r)
		}
	default:
		if L.GetTop() >= 2 {
			e = abi.NewError(checkKind(L, 1, L.Get(1)), L.CheckString(2))
		} else {
			e = abi.NewError(abi.Unknown, L.CheckString(1))
		}
	}
	L.Push(newErrorValue(L, e))
	return 1
}

func checkKind(L *lua.LState, n int, v lua.LValue) abi.Kind {
	s, ok := v.(lua.LString)
	if !ok {
		typeError(L, n, "new", "error kind", v)
	}
	k, ok := abi.ParseKind(string(s))
	if !ok {
		argError(L, n, "new", fmt.Sprintf("unknown error kind %q", string(s)))
	}
	return k
}

// errorsIs reports whether err is an error object of the given kind.
func errorsIs(L *lua.LState) int {
	kind, _ := abi.ParseKind(L.CheckString(2))
	ud, ok := L.Get(1).(*lua.LUserData)
	if !ok {
		L.Push(lua.LFalse)
		return 1
	}
	e, ok := ud.Value.(*abi.Error)
	L.Push(lua.LBool(ok && kind != "" && e.Kind == kind))
	return 1
}

// toError converts what a script raised or returned as its error into an abi.Error.
// text is the value's string form, used for anything that is not an error object.
func toError(v lua.LValue, text string) *abi.Error {
	if ud, ok := v.(*lua.LUserData); ok {
		if e, ok := ud.Value.(*abi.Error); ok {
			return e
		}
	}
	return abi.NewError(abi.Unknown, text)
}
