package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/engine"
	"github.com/wasmkv/wasmkv/guest/luacbor"
	"github.com/wasmkv/wasmkv/host"
	"github.com/wasmkv/wasmkv/policy"
)

// Native runs Lua on native gopher-lua with a store module bound directly to an
// engine.Memory: no wasm, no ABI envelope, no host call. Its get and set do what the
// sandbox does for them, in the same order (guest/store.go, then host/ops.go): the
// released and key argument checks, the ttl and value checks, luacbor encoding, the
// host's key length, value size and well-formedness checks, the policy decision, and
// the engine call, then luacbor decoding of what get read. Failures come back as
// (nil|false, message string) rather than error objects, which the loop never takes.
type Native struct {
	L      *lua.LState
	proto  *lua.FunctionProto
	mem    *engine.Memory
	pol    *policy.Set
	module string
	buf    []byte
}

const nativeHandleType = "bench.Store"

// NewNative builds a native Lua VM with the guest's safe libraries and a store module
// over one memory engine ("app:cache", max_size 10000), compiles src, and decides every
// store action with cfg's policies as module.
func NewNative(src []byte, cfg *host.Config, module string) (*Native, error) {
	pol, err := policy.Compile(cfg.Policies)
	if err != nil {
		return nil, err
	}
	mem, err := engine.NewMemory(engine.MemoryOptions{MaxSize: host.DefaultMaxSize})
	if err != nil {
		return nil, err
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 200, RegistrySize: 1024 * 20, RegistryMaxSize: 1024 * 256})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	n := &Native{L: L, mem: mem, pol: pol, module: module}
	L.PreloadModule("store", n.open)
	stmts, err := parse.Parse(bytes.NewReader(src), "bench.lua")
	if err != nil {
		n.Close()
		return nil, err
	}
	if n.proto, err = lua.Compile(stmts, "bench.lua"); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// Close releases the VM and stops the engine.
func (n *Native) Close() {
	n.L.Close()
	n.mem.Close()
}

// Run runs the compiled script once with args and returns how long it took.
func (n *Native) Run(args ...string) (time.Duration, error) {
	L := n.L
	start := time.Now()
	L.Push(L.NewFunctionFromProto(n.proto))
	for _, a := range args {
		L.Push(lua.LString(a))
	}
	err := L.PCall(len(args), lua.MultRet, nil)
	d := time.Since(start)
	L.SetTop(0)
	return d, err
}

type nativeHandle struct {
	id       string
	released bool
}

func (n *Native) open(L *lua.LState) int {
	mt := L.NewTypeMetatable(nativeHandleType)
	L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"get":     n.get,
		"set":     n.set,
		"release": n.release,
	}))
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{"get": n.storeOpen}))
	return 1
}

func fail(L *lua.LState, failure lua.LValue, msg string) int {
	L.Push(failure)
	L.Push(lua.LString(msg))
	return 2
}

func (n *Native) decide(action, resource, key string) bool {
	return n.pol.Decide(policy.Request{Module: n.module, Action: action, Resource: resource, Key: key}).Allowed
}

func (n *Native) storeOpen(L *lua.LState) int {
	id := L.CheckString(1)
	switch {
	case id == "":
		return fail(L, lua.LNil, "Invalid: store id is empty")
	case !n.decide(policy.ActionStoreGet, id, ""):
		return fail(L, lua.LNil, "PermissionDenied: store.get")
	case id != "app:cache":
		return fail(L, lua.LNil, "NotFound: store not found")
	}
	ud := L.NewUserData()
	ud.Value = &nativeHandle{id: id}
	L.SetMetatable(ud, L.GetTypeMetatable(nativeHandleType))
	L.Push(ud)
	return 1
}

// keyArg mirrors the guest's keyArg: self, released, key type, empty key.
func keyArg(L *lua.LState, failure lua.LValue) (*nativeHandle, string, int, bool) {
	ud, ok := L.Get(1).(*lua.LUserData)
	var s *nativeHandle
	if ok {
		s, ok = ud.Value.(*nativeHandle)
	}
	if !ok {
		L.ArgError(1, "store expected")
	}
	if s.released {
		return nil, "", fail(L, failure, "Invalid: store is released"), false
	}
	var key string
	switch v := L.Get(2).(type) {
	case lua.LString:
		key = string(v)
	case lua.LNumber:
		key = v.String()
	default:
		L.ArgError(1, "string expected, got "+v.Type().String())
	}
	if key == "" {
		return nil, "", fail(L, failure, "Invalid: key is empty"), false
	}
	if len(key) > host.DefaultMaxKeyBytes {
		return nil, "", fail(L, failure, "Invalid: key is too long"), false
	}
	return s, key, 0, true
}

func (n *Native) set(L *lua.LState) int {
	s, key, r, ok := keyArg(L, lua.LFalse)
	if !ok {
		return r
	}
	var ttl time.Duration
	if t := L.Get(4); t != lua.LNil {
		f, ok := toNumber(t)
		if !ok {
			L.ArgError(3, "number expected, got "+t.Type().String())
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 3_153_600_000 {
			return fail(L, lua.LFalse, "Invalid: ttl out of range")
		}
		ms := int64(math.Round(f * 1000))
		if f > 0 && ms == 0 {
			ms = 1
		}
		ttl = time.Duration(ms) * time.Millisecond
	}
	v := L.Get(3)
	if v == lua.LNil {
		return fail(L, lua.LFalse, "Invalid: value is required")
	}
	val, err := luacbor.Encode(n.buf[:0], v)
	if err != nil {
		return fail(L, lua.LFalse, "Invalid: "+err.Error())
	}
	n.buf = val
	if len(val) > host.DefaultMaxValueBytes {
		return fail(L, lua.LFalse, "Invalid: value is too large")
	}
	if err := abi.CheckValue(val); err != nil {
		return fail(L, lua.LFalse, "Invalid: value: "+err.Error())
	}
	if !n.decide(policy.ActionKeySet, s.id, key) {
		return fail(L, lua.LFalse, "PermissionDenied: store.key.set")
	}
	if err := n.mem.Set(context.Background(), key, val, ttl); err != nil {
		return fail(L, lua.LFalse, "Unavailable: "+err.Error())
	}
	L.Push(lua.LTrue)
	return 1
}

func (n *Native) get(L *lua.LState) int {
	s, key, r, ok := keyArg(L, lua.LNil)
	if !ok {
		return r
	}
	if !n.decide(policy.ActionKeyGet, s.id, key) {
		return fail(L, lua.LNil, "PermissionDenied: store.key.get")
	}
	ent, found, err := n.mem.Get(context.Background(), key)
	switch {
	case err != nil:
		return fail(L, lua.LNil, "Unavailable: "+err.Error())
	case !found:
		return fail(L, lua.LNil, fmt.Sprintf("NotFound: key %q not found", key))
	}
	v, err := luacbor.Decode(L, ent.Value)
	if err != nil {
		return fail(L, lua.LNil, "Internal: "+err.Error())
	}
	L.Push(v)
	return 1
}

func (n *Native) release(L *lua.LState) int {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if s, ok := ud.Value.(*nativeHandle); ok {
			s.released = true
		}
	}
	L.Push(lua.LTrue)
	return 1
}

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
