package lualib

import (
	"fmt"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/luacbor"
)

const storeTypeName = "store.Store"

// storeHandle is the userdata behind a Lua store handle.
type storeHandle struct {
	handle   uint32
	released bool
	// maxValue is the store's max_value_bytes as open reported it (0: not reported),
	// so that a value too large for the store stops encoding there.
	maxValue int
}

// newStoreMetatable builds the store handles' metatable once per VM. It hides itself
// (__metatable), so no script can change the methods of a later run's handles.
func (vm *VM) newStoreMetatable(L *lua.LState) {
	mt := newTypeMetatable(L, storeTypeName)
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"get":     vm.storeGet,
		"set":     vm.storeSet,
		"has":     vm.storeHas,
		"delete":  vm.storeDelete,
		"release": vm.storeRelease,
		"entry":   vm.storeEntry,
		"put":     vm.storePut,
		"incr":    vm.storeIncr,
		"list":    vm.storeList,
		"info":    vm.storeInfo,
	})
	L.SetField(mt, "__index", methods)
	L.SetField(mt, "__tostring", L.NewFunction(storeToString))
	L.SetField(mt, "__metatable", lua.LFalse)
}

// openStore is require("store"): a fresh module table for each run that asks.
func (vm *VM) openStore(L *lua.LState) int {
	mod := L.CreateTable(0, 3)
	mod.RawSetString("get", L.NewFunction(vm.storeOpen))
	mod.RawSetString("backend", constants(L, abi.Backends()))
	mod.RawSetString("consistency", constants(L, abi.Consistencies()))
	L.Push(mod)
	return 1
}

// argError raises the error that luaL_argerror raises in C Lua, naming the function,
// with the position of the calling Lua code when there is one.
func argError(L *lua.LState, n int, fname, msg string) {
	text := fmt.Sprintf("bad argument #%d to '%s' (%s)", n, fname, msg)
	if pos := L.Where(1); pos != "" {
		text = pos + " " + text
	}
	L.Error(lua.LString(text), 0)
}

func typeError(L *lua.LState, n int, fname, want string, got lua.LValue) {
	argError(L, n, fname, fmt.Sprintf("%s expected, got %s", want, got.Type().String()))
}

// checkString is luaL_checkstring: a string, or a number in its string form.
func checkString(L *lua.LState, idx, argn int, fname string) string {
	switch v := L.Get(idx).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	default:
		typeError(L, argn, fname, "string", v)
		return ""
	}
}

// checkNumber is luaL_checknumber: a number, or a string that converts to one.
func checkNumber(L *lua.LState, idx, argn int, fname string) float64 {
	f, ok := toNumber(L.Get(idx))
	if !ok {
		typeError(L, argn, fname, "number", L.Get(idx))
	}
	return f
}

// toNumber converts as Lua does: a number, or a string that reads as one.
func toNumber(v lua.LValue) (float64, bool) {
	switch v := v.(type) {
	case lua.LNumber:
		return float64(v), true
	case lua.LString:
		if f, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64); err == nil {
			return f, true
		}
	}
	return 0, false
}

// checkHandle returns the store behind self (argument 1 of a method call).
func checkHandle(L *lua.LState, fname string) *storeHandle {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if s, ok := ud.Value.(*storeHandle); ok {
			return s
		}
	}
	typeError(L, 1, fname, "store", L.Get(1))
	return nil
}

// pushFailure pushes a method's failure value and the error object.
func pushFailure(L *lua.LState, failure lua.LValue, e *abi.Error) int {
	L.Push(failure)
	L.Push(newErrorValue(L, e))
	return 2
}

// errReleased is a new error each time: the caller may change its copy.
func errReleased() *abi.Error { return abi.NewError(abi.Invalid, "store is released") }

// keyArg runs the checks that precede every key method: a released store, then the key's
// type, then an empty key. It returns ok=false after pushing the failure values.
func keyArg(L *lua.LState, fname string, failure lua.LValue) (s *storeHandle, key string, n int, ok bool) {
	s = checkHandle(L, fname)
	if s.released {
		return nil, "", pushFailure(L, failure, errReleased()), false
	}
	// In a method call the key is argument #1 of the message, as luaL_argerror counts.
	key = checkString(L, 2, 1, fname)
	// The store's max_key_bytes is the host's to check: the guest does not know it.
	if e := abi.CheckKey(key, 0); e != nil {
		return nil, "", pushFailure(L, failure, e), false
	}
	return s, key, 0, true
}

// storeOpen is store.get(id).
func (vm *VM) storeOpen(L *lua.LState) int {
	id := checkString(L, 1, 1, "get")
	if id == "" {
		return pushFailure(L, lua.LNil, abi.NewError(abi.Invalid, "store id is empty"))
	}
	var resp abi.Response
	if e := vm.client.Call(&abi.Request{Op: abi.OpOpen, ID: id, Limits: true}, &resp); e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	s := &storeHandle{handle: resp.Handle, maxValue: int(min(resp.MaxValueBytes, abi.MaxRequestBytes))}
	vm.open[s] = struct{}{}
	ud := L.NewUserData()
	ud.Value = s
	L.SetMetatable(ud, L.GetTypeMetatable(storeTypeName))
	L.Push(ud)
	return 1
}

// keyCall runs the checks of a key method that takes nothing but the key, then its
// request. On failure it has pushed the failure values, and returns nil and their count.
func (vm *VM) keyCall(L *lua.LState, fname string, failure lua.LValue, op abi.Op) (*abi.Response, int) {
	s, key, n, ok := keyArg(L, fname, failure)
	if !ok {
		return nil, n
	}
	// The VM's one response is reused: the caller is done with it before the next call.
	if e := vm.client.Call(&abi.Request{Op: op, Handle: s.handle, Key: []byte(key)}, &vm.resp); e != nil {
		return nil, pushFailure(L, failure, e)
	}
	return &vm.resp, 0
}

// decodeValue converts a stored value to a Lua value.
func decodeValue(L *lua.LState, raw []byte) (lua.LValue, *abi.Error) {
	v, err := luacbor.Decode(L, raw)
	if err != nil {
		return lua.LNil, abi.NewError(abi.Internal, err.Error())
	}
	return v, nil
}

// pushResult pushes a method's result v, or its failure values when e is not nil.
func pushResult(L *lua.LState, v lua.LValue, e *abi.Error) int {
	if e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	L.Push(v)
	return 1
}

// keyRead is a method that reads a key (get, entry): the key checks, the request, and
// the conversion of its response by result.
func (vm *VM) keyRead(L *lua.LState, fname string, op abi.Op, result func(*lua.LState, *abi.Response) (lua.LValue, *abi.Error)) int {
	resp, n := vm.keyCall(L, fname, lua.LNil, op)
	if resp == nil {
		return n
	}
	v, e := result(L, resp)
	return pushResult(L, v, e)
}

// storeGet is get(key): value, err; storeEntry is entry(key): Entry, err.
func (vm *VM) storeGet(L *lua.LState) int {
	return vm.keyRead(L, "get", abi.OpGet, func(L *lua.LState, r *abi.Response) (lua.LValue, *abi.Error) {
		return decodeValue(L, r.Value)
	})
}

func (vm *VM) storeEntry(L *lua.LState) int {
	return vm.keyRead(L, "entry", abi.OpEntry, func(L *lua.LState, r *abi.Response) (lua.LValue, *abi.Error) {
		return pushEntry(L, r.Entry)
	})
}

func (vm *VM) storeSet(L *lua.LState) int {
	s, key, n, ok := keyArg(L, "set", lua.LFalse)
	if !ok {
		return n
	}
	var ttl int64
	if L.Get(4) != lua.LNil {
		var e *abi.Error
		if ttl, e = abi.TTLMillis(checkNumber(L, 4, 3, "set")); e != nil {
			return pushFailure(L, lua.LFalse, e)
		}
	}
	val, e := vm.valueArg(L, s)
	if e != nil {
		return pushFailure(L, lua.LFalse, e)
	}
	var resp abi.Response
	if e := vm.client.Call(&abi.Request{Op: abi.OpSet, Handle: s.handle, Key: []byte(key), Value: val, TTL: ttl}, &resp); e != nil {
		return pushFailure(L, lua.LFalse, e)
	}
	L.Push(lua.LTrue)
	return 1
}

// valueArg encodes argument 3, the value of set and put: present, storable, and no
// larger than the store takes (else a request can carry).
func (vm *VM) valueArg(L *lua.LState, s *storeHandle) ([]byte, *abi.Error) {
	v := L.Get(3)
	if v == lua.LNil {
		return nil, abi.CheckValue(nil, 0) // "value is required", as the host words it
	}
	limit := s.maxValue
	if limit == 0 {
		limit = abi.MaxRequestBytes
	}
	val, err := luacbor.EncodeLimit(vm.valueBuf[:0], v, limit)
	if err != nil {
		return nil, abi.NewError(abi.Invalid, err.Error())
	}
	vm.valueBuf = val
	return val, nil
}

// boolOp is has and delete: a key in, a boolean out.
func (vm *VM) boolOp(L *lua.LState, fname string, op abi.Op) int {
	resp, n := vm.keyCall(L, fname, lua.LFalse, op)
	if resp == nil {
		return n
	}
	L.Push(lua.LBool(resp.OK))
	return 1
}

func (vm *VM) storeHas(L *lua.LState) int    { return vm.boolOp(L, "has", abi.OpHas) }
func (vm *VM) storeDelete(L *lua.LState) int { return vm.boolOp(L, "delete", abi.OpDelete) }

// storeRelease always returns true and may be called again.
func (vm *VM) storeRelease(L *lua.LState) int {
	s := checkHandle(L, "release")
	vm.release(s)
	L.Push(lua.LTrue)
	return 1
}

func (vm *VM) release(s *storeHandle) {
	if s.released {
		return
	}
	s.released = true
	delete(vm.open, s)
	var resp abi.Response
	_ = vm.client.Call(&abi.Request{Op: abi.OpRelease, Handle: s.handle}, &resp)
}

// releaseAll releases what a run left open. The host also drops them when the run
// ends; this keeps the guest's view consistent when an instance is reused.
func (vm *VM) releaseAll() {
	for s := range vm.open {
		vm.release(s)
	}
}

// constants builds a table whose fields name themselves: store.backend.MEMORY == "MEMORY".
func constants(L *lua.LState, names []string) *lua.LTable {
	t := L.CreateTable(0, len(names))
	for _, n := range names {
		t.RawSetString(n, lua.LString(n))
	}
	return t
}

func storeToString(L *lua.LState) int {
	s := checkHandle(L, "__tostring")
	if s.released {
		L.Push(lua.LString("store.Store{released}"))
	} else {
		L.Push(lua.LString("store.Store{}"))
	}
	return 1
}
