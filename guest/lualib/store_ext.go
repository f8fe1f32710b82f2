package lualib

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/luacbor"
)

// The extended handle API: entry, put, incr, list and info.

// optTable returns the options table at idx, or nil when it is absent; anything else
// raises, naming the argument.
func optTable(L *lua.LState, idx, argn int, fname string) *lua.LTable {
	switch v := L.Get(idx).(type) {
	case *lua.LTable:
		return v
	case *lua.LNilType:
		return nil
	default:
		typeError(L, argn, fname, "table", v)
		return nil
	}
}

// optTTL reads opts.ttl, in seconds; a wrong type raises and a bad value is returned.
func optTTL(L *lua.LState, opts *lua.LTable, fname string) (int64, *abi.Error) {
	if opts == nil {
		return 0, nil
	}
	v := opts.RawGetString("ttl")
	if v == lua.LNil {
		return 0, nil
	}
	n, ok := toNumber(v)
	if !ok {
		L.RaiseError("bad option 'ttl' to '%s' (number expected, got %s)", fname, v.Type().String())
	}
	return abi.TTLMillis(n)
}

// pushEntry builds an Entry table: {key, value, version, ttl}.
func pushEntry(L *lua.LState, e *abi.Entry) (lua.LValue, *abi.Error) {
	v, err := luacbor.Decode(L, e.Value)
	if err != nil {
		return lua.LNil, abi.NewError(abi.Internal, err.Error())
	}
	t := L.CreateTable(0, 4)
	t.RawSetString("key", lua.LString(e.Key))
	t.RawSetString("value", v)
	t.RawSetString("version", lua.LString(e.Version))
	if e.TTL != nil {
		t.RawSetString("ttl", lua.LNumber(float64(*e.TTL)/1000))
	}
	return t, nil
}

// storePut is put(key, value, opts?): Entry, err. opts: ttl, only_if_absent, if_version.
func (vm *VM) storePut(L *lua.LState) int {
	s, key, n, ok := keyArg(L, "put", lua.LNil)
	if !ok {
		return n
	}
	opts := optTable(L, 4, 3, "put")
	req := abi.Request{Op: abi.OpPut, Handle: s.handle, Key: []byte(key)}
	if opts != nil {
		switch v := opts.RawGetString("only_if_absent").(type) {
		case lua.LBool:
			req.OnlyIfAbsent = bool(v)
		case *lua.LNilType:
		default:
			L.RaiseError("bad option 'only_if_absent' to 'put' (boolean expected, got %s)", v.Type().String())
		}
		switch v := opts.RawGetString("if_version").(type) {
		case lua.LString:
			ver := string(v)
			req.IfVersion = &ver
		case *lua.LNilType:
		default:
			L.RaiseError("bad option 'if_version' to 'put' (string expected, got %s)", v.Type().String())
		}
	}
	ttl, e := optTTL(L, opts, "put")
	if e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	req.TTL = ttl
	if req.OnlyIfAbsent && req.IfVersion != nil {
		return pushFailure(L, lua.LNil, abi.NewError(abi.Invalid, "only_if_absent and if_version cannot be used together"))
	}
	val, e := vm.valueArg(L, s)
	if e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	req.Value = val
	var resp abi.Response
	if e := vm.client.Call(&req, &resp); e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	v, e := pushEntry(L, resp.Entry)
	return pushResult(L, v, e)
}

// storeIncr is incr(key, delta?, opts?): number, err.
func (vm *VM) storeIncr(L *lua.LState) int {
	s, key, n, ok := keyArg(L, "incr", lua.LNil)
	if !ok {
		return n
	}
	delta := 1.0
	if L.Get(3) != lua.LNil {
		delta = checkNumber(L, 3, 2, "incr")
	}
	ttl, e := optTTL(L, optTable(L, 4, 3, "incr"), "incr")
	if e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	var resp abi.Response
	if e := vm.client.Call(&abi.Request{Op: abi.OpIncr, Handle: s.handle, Key: []byte(key), Delta: delta, TTL: ttl}, &resp); e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	v, e := decodeValue(L, resp.Value)
	return pushResult(L, v, e)
}

// storeList is list(opts?): Page, err. opts: prefix, after, limit.
func (vm *VM) storeList(L *lua.LState) int {
	s := checkHandle(L, "list")
	if s.released {
		return pushFailure(L, lua.LNil, errReleased())
	}
	opts := optTable(L, 2, 1, "list")
	req := abi.Request{Op: abi.OpList, Handle: s.handle, Limit: abi.DefaultListLimit}
	if opts != nil {
		for _, f := range []struct {
			name string
			dst  *[]byte
		}{{"prefix", &req.Prefix}, {"after", &req.After}} {
			switch v := opts.RawGetString(f.name).(type) {
			case lua.LString:
				*f.dst = []byte(v)
			case *lua.LNilType:
			default:
				L.RaiseError("bad option '%s' to 'list' (string expected, got %s)", f.name, v.Type().String())
			}
		}
		if v := opts.RawGetString("limit"); v != lua.LNil {
			n, ok := toNumber(v)
			if !ok {
				L.RaiseError("bad option 'limit' to 'list' (number expected, got %s)", v.Type().String())
			}
			if n != float64(int64(n)) || n < 1 || n > abi.MaxListLimit {
				return pushFailure(L, lua.LNil, abi.NewError(abi.Invalid, fmt.Sprintf("limit %v is out of range (an integer from 1 to %d)", lua.LNumber(n), abi.MaxListLimit)))
			}
			req.Limit = int64(n)
		}
	}
	var resp abi.Response
	if e := vm.client.Call(&req, &resp); e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	items := L.CreateTable(len(resp.Page.Items), 0)
	for i := range resp.Page.Items {
		t, err := pushEntry(L, &resp.Page.Items[i])
		if err != nil {
			return pushFailure(L, lua.LNil, err)
		}
		items.RawSetInt(i+1, t)
	}
	page := L.CreateTable(0, 3)
	page.RawSetString("items", items)
	page.RawSetString("cursor", lua.LString(resp.Page.Cursor))
	page.RawSetString("has_more", lua.LBool(resp.Page.More))
	L.Push(page)
	return 1
}

// storeInfo is info(): Info, err.
func (vm *VM) storeInfo(L *lua.LState) int {
	s := checkHandle(L, "info")
	if s.released {
		return pushFailure(L, lua.LNil, errReleased())
	}
	var resp abi.Response
	if e := vm.client.Call(&abi.Request{Op: abi.OpInfo, Handle: s.handle}, &resp); e != nil {
		return pushFailure(L, lua.LNil, e)
	}
	i := resp.Info
	t := L.CreateTable(0, 8)
	t.RawSetString("id", lua.LString(i.ID))
	t.RawSetString("backend", lua.LString(i.Backend))
	t.RawSetString("consistency", lua.LString(i.Consistency))
	for _, f := range []struct {
		name string
		v    bool
	}{{"durable", i.Durable}, {"list", i.List}, {"versioned", i.Versioned}, {"conditional_put", i.ConditionalPut}, {"ttl", i.TTL}} {
		t.RawSetString(f.name, lua.LBool(f.v))
	}
	L.Push(t)
	return 1
}
