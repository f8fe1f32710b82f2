package lualib

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/luacbor"
)

// Serve is one run, as the host asks for it: it fetches the task, gives it to prepare
// (when not nil; the wasm guest sizes its collector there), runs it, and reports the
// outcome with finish.
func (v *VM) Serve(prepare func(*abi.Task)) {
	var resp abi.Response
	if e := v.client.Call(&abi.Request{Op: abi.OpTask}, &resp); e != nil || resp.Task == nil {
		if e == nil {
			e = abi.NewError(abi.Internal, "sdk: host sent no task")
		}
		v.finish(e)
		return
	}
	if prepare != nil {
		prepare(resp.Task)
	}
	result, e := v.RunResult(resp.Task)
	v.finishResult(e, result)
}

func (v *VM) finish(e *abi.Error) { v.finishResult(e, nil) }

// finishResult reports the outcome with the script's result, for a task that asked for
// one (see abi.OpFinish).
func (v *VM) finishResult(e *abi.Error, result []byte) {
	var resp abi.Response
	_ = v.client.Call(&abi.Request{Op: abi.OpFinish, Err: e, Value: result}, &resp)
}

// Run runs one task on a fresh environment and returns its failure, or nil.
func (v *VM) Run(t *abi.Task) *abi.Error {
	_, e := v.RunResult(t)
	return e
}

// RunResult is Run that also returns, when the task asks for it (abi.Task.Result), the
// script's first return value, encoded: null when the script returned nil, err, and nil
// when it raised. A task's Input is passed as the script's first argument.
func (v *VM) RunResult(t *abi.Task) (result []byte, failure *abi.Error) {
	v.reset()
	v.reseedRandom()
	L := v.L
	defer v.afterRun()
	defer v.releaseAll()
	proto, err := v.chunks.compile(t.Name, t.Source)
	if err != nil {
		return nil, abi.NewError(abi.Invalid, err.Error())
	}
	fn := L.NewFunctionFromProto(proto)
	top := L.GetTop()
	L.Push(fn)
	nargs := len(t.Args)
	if len(t.Input) > 0 {
		in, err := luacbor.Decode(L, t.Input)
		if err != nil {
			L.SetTop(top)
			return nil, abi.NewError(abi.Invalid, "task input: "+err.Error())
		}
		L.Push(in)
		nargs++
	}
	for _, a := range t.Args {
		L.Push(lua.LString(a))
	}
	if err := L.PCall(nargs, lua.MultRet, nil); err != nil {
		if apiErr, ok := err.(*lua.ApiError); ok {
			return nil, toError(apiErr.Object, apiErr.Error())
		}
		return nil, abi.NewError(abi.Unknown, err.Error())
	}
	// A script that returns nil, err failed, as a store method does.
	if L.GetTop()-top >= 2 && L.Get(top+1) == lua.LNil && L.Get(top+2) != lua.LNil {
		e := L.Get(top + 2)
		var null []byte
		if t.Result {
			null = []byte{0xf6}
		}
		return null, toError(e, errorText(L, e))
	}
	if !t.Result {
		return nil, nil
	}
	first := lua.LValue(lua.LNil)
	if L.GetTop() > top {
		first = L.Get(top + 1)
	}
	result, err = luacbor.Encode(nil, first)
	if err != nil {
		// Reported as raised: the script broke the contract of its caller.
		return nil, abi.NewError(abi.Invalid, "return value: "+err.Error())
	}
	return result, nil
}
