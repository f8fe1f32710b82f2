package lualib

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
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
	v.finish(v.Run(resp.Task))
}

func (v *VM) finish(e *abi.Error) {
	var resp abi.Response
	_ = v.client.Call(&abi.Request{Op: abi.OpFinish, Err: e}, &resp)
}

// Run runs one task on a fresh environment and returns its failure, or nil.
func (v *VM) Run(t *abi.Task) *abi.Error {
	v.reset()
	v.reseedRandom()
	L := v.L
	defer v.afterRun()
	defer v.releaseAll()
	proto, err := v.chunks.compile(t.Name, t.Source)
	if err != nil {
		return abi.NewError(abi.Invalid, err.Error())
	}
	fn := L.NewFunctionFromProto(proto)
	top := L.GetTop()
	L.Push(fn)
	for _, a := range t.Args {
		L.Push(lua.LString(a))
	}
	if err := L.PCall(len(t.Args), lua.MultRet, nil); err != nil {
		if apiErr, ok := err.(*lua.ApiError); ok {
			return toError(apiErr.Object, apiErr.Error())
		}
		return abi.NewError(abi.Unknown, err.Error())
	}
	// A script that returns nil, err failed, as a store method does.
	if L.GetTop()-top >= 2 && L.Get(top+1) == lua.LNil && L.Get(top+2) != lua.LNil {
		e := L.Get(top + 2)
		return toError(e, errorText(L, e))
	}
	return nil
}
