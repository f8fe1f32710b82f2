package lualib

import (
	lua "github.com/yuin/gopher-lua"
)

// errorText is tostring(v) for the error a script returned, run as a protected call: a
// __tostring that raises is an ordinary script error, where an unprotected call would
// panic out of the VM and trap the instance. The message is bounded later, in sdk.Finish.
func errorText(L *lua.LState, v lua.LValue) string {
	L.Push(L.NewFunction(func(L *lua.LState) int {
		L.Push(L.ToStringMeta(L.Get(1)))
		return 1
	}))
	L.Push(v)
	if err := L.PCall(1, 1, nil); err != nil {
		text := err.Error()
		if apiErr, ok := err.(*lua.ApiError); ok {
			text = apiErr.Object.String()
		}
		return "the error's __tostring failed: " + text
	}
	s := L.Get(-1)
	L.Pop(1)
	return s.String()
}
