package lualib

import (
	lua "github.com/yuin/gopher-lua"
)

// maxProtectedDepth bounds nested pcall/xpcall, like Lua 5.1's LUAI_MAXCCALLS, so that
// pcall recursion ends in a Lua error instead of unbounded Go recursion.
const maxProtectedDepth = 200

// installProtectedCalls replaces pcall, xpcall and error to work around gopher-lua issue
// 448: after an error caught by a plain pcall, gopher-lua closes every open upvalue of
// the thread, not only those above the pcall, so closures of the caller are detached
// from their locals and a counter captured by a closure silently stops counting.
//
// The workaround runs the protected function on a helper thread. gopher-lua's
// thread-wide closing then only reaches the helper's frames. The error handler re-raises
// at the point of failure, which closes the helper's upvalues while their registers
// still hold the values. error is replaced too, because gopher-lua's error() with no
// argument raises "bad argument" where Lua 5.1 raises nil.
//
// Helpers are kept per nesting depth and reused: protected calls nest strictly.
func installProtectedCalls(L *lua.LState) {
	var helpers []*lua.LState
	depth := 0

	fail := func(L *lua.LState, v lua.LValue) int {
		L.Push(lua.LFalse)
		L.Push(v)
		return 2
	}
	// call runs the function and its nargs arguments on top of L's stack.
	call := func(L *lua.LState, nargs int, handler *lua.LFunction) (n int) {
		if depth == maxProtectedDepth {
			L.RaiseError("C stack overflow")
		}
		if depth == len(helpers) {
			T, _ := L.NewThread()
			helpers = append(helpers, T)
		}
		T, current, ctx := helpers[depth], L.G.CurrentThread, L.Context()
		depth++
		T.Env = L.Env
		T.RemoveContext()
		if ctx != nil {
			T.SetContext(ctx)
		}
		L.XMoveTo(T, nargs+1)
		defer func() {
			// A coroutine resumed inside may have left the helper as the current thread.
			depth, L.G.CurrentThread = depth-1, current
			if r := recover(); r != nil {
				// The handler overflowed the helper's registry: report it, drop the helper.
				apiErr, ok := r.(*lua.ApiError)
				if !ok {
					panic(r)
				}
				n, helpers = fail(L, apiErr.Object), helpers[:depth]
			}
		}()
		if err := T.PCall(nargs, lua.MultRet, handler); err != nil {
			if apiErr, ok := err.(*lua.ApiError); ok {
				return fail(L, apiErr.Object)
			}
			return fail(L, lua.LString(err.Error()))
		}
		L.Push(lua.LTrue)
		T.XMoveTo(L, T.GetTop())
		return L.GetTop()
	}
	reraise := L.NewFunction(func(T *lua.LState) int {
		T.Error(T.Get(-1), 0)
		return 0
	})

	L.SetGlobal("pcall", L.NewFunction(func(L *lua.LState) int {
		f := L.CheckAny(1)
		if f.Type() != lua.LTFunction && L.GetMetaField(f, "__call").Type() != lua.LTFunction {
			return fail(L, lua.LString("attempt to call a "+f.Type().String()+" value"))
		}
		return call(L, L.GetTop()-1, reraise)
	}))
	L.SetGlobal("xpcall", L.NewFunction(func(L *lua.LState) int {
		h := L.CheckFunction(2)
		L.SetTop(1)
		return call(L, 0, L.NewFunction(func(T *lua.LState) int {
			T.Insert(h, 1)
			T.Call(1, 1)
			return reraise.GFunction(T)
		}))
	}))
	L.SetGlobal("error", L.NewFunction(func(L *lua.LState) int {
		// As Lua 5.1: error() raises nil, and a level with no frame adds no position.
		level := L.OptInt(2, 1)
		if _, ok := L.GetStack(level); ok {
			L.Error(L.Get(1), level)
		}
		L.Error(L.Get(1), 0)
		return 0
	}))
}
