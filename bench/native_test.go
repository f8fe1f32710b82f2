package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// parityScript exercises the store module, its argument checks and the host's checks,
// policy and engine, and fails with everything it saw as its message.
var parityScript = []byte(`
local store = require("store")
local out = {}
local function add(...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
  out[#out + 1] = table.concat(t, " ")
end
local c = assert(store.get("app:cache"))
add(store.get("other"))
add(c:set("k", {a = 1, b = {2, 3}}, 60))
local v = c:get("k")
add(v.a, v.b[2])
add(c:get("missing"))
add(c:set("k", "v", -1))
add(c:set("k", "v", 0/0))
add(c:set("k", "v", 4e9))
add(c:set("", "v"))
add(c:set(string.rep("x", 1025), "v"))
add(c:set("k", nil))
add(c:set("k", function() end))
add(c:has("k"), c:delete("k"), c:has("k"))
add(c:incr("n", 2), c:incr("n", 0.5))
local e = c:put("p", "x", {only_if_absent = true, ttl = 1})
add(e.key, e.value, e.ttl ~= nil) -- the remaining ttl itself depends on the clock
add(c:put("p", "y", {only_if_absent = true}))
add(c:put("p", "y", {if_version = "nope"}))
local page = c:list({prefix = "", limit = 10})
add(#page.items, page.has_more, page.cursor)
add(c:list({limit = 0}))
local info = c:info()
add(info.id, info.backend, info.consistency, info.versioned)
pcall(c.release, c)
add(c:get("k"))
error(table.concat(out, "\n"), 0)
`)

// TestNativeRunsTheGuestCode: the native baseline and the sandbox answer the same script
// alike, failures and their messages included, because they run the same Lua modules
// over the same request handler; only the wasm boundary differs.
func TestNativeRunsTheGuestCode(t *testing.T) {
	ctx := context.Background()
	n, err := NewNative(parityScript, Config(), ModStore)
	require.NoError(t, err)
	defer n.Close()
	_, nerr := n.Run()
	var native *abi.Error
	require.True(t, errors.As(nerr, &native), "native: %v", nerr)

	h, _, err := NewHost(ctx, cacheDir)
	require.NoError(t, err)
	defer h.Close(ctx)
	_, serr := RunScript(ctx, h, ModStore, parityScript)
	var sandbox *host.RunError
	require.True(t, errors.As(serr, &sandbox), "sandbox: %v", serr)

	t.Logf("both runs saw:\n%s", native.Message)
	require.Equal(t, sandbox.Message, native.Message)
	require.Equal(t, abi.Unknown, native.Kind)
	// The script reached its end, and the checks it met are the product's.
	require.Contains(t, native.Message, "PermissionDenied: permission denied: store.get on \"other\"")
	require.Contains(t, native.Message, "false Invalid: ttl must not be negative")
	require.Contains(t, native.Message, "false Invalid: key is 1025 bytes, longer than max_key_bytes 1024")
	require.Contains(t, native.Message, "nil Invalid: store is released")
}
