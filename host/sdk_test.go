package host_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

// TestSDKConformance runs one sequence of store operations through the Go SDK guest and
// through Lua, on fresh stores of the same config: both guests must see the same results.
func TestSDKConformance(t *testing.T) {
	wasm, err := os.ReadFile("testdata/sdkguest/guest.wasm")
	require.NoError(t, err, "built by make plugins")
	lua, err := os.ReadFile("testdata/sdkguest/conformance.lua")
	require.NoError(t, err)
	cfg := "stores:\n  app:a: {kind: memory}\n  app:b: {kind: memory}\npolicies:\n  - {name: all, effect: allow, resources: [\"app:a\", \"app:b\"]}\n"
	h := newHost(t, cfg)
	ctx := context.Background()
	g, err := h.LoadGuest(ctx, wasm)
	require.NoError(t, err)

	var goOut, luaOut bytes.Buffer
	require.NoError(t, h.Run(ctx, host.Script{Module: "sdk", Name: "sdkguest", Guest: g, Args: []string{"app:a"}, Stdout: &goOut, Timeout: time.Minute}))
	require.NoError(t, h.Run(ctx, host.Script{Module: "lua", Name: "conformance.lua", Source: lua, Args: []string{"app:b"}, Stdout: &luaOut, Timeout: time.Minute}))
	assert.Equal(t, luaOut.String(), goOut.String())
	t.Log("\n" + goOut.String())
	assert.Contains(t, goOut.String(), "put stale version Conflict/true\n")
	assert.Contains(t, goOut.String(), "open unknown PermissionDenied/false\n")
	assert.Equal(t, 23, bytes.Count(goOut.Bytes(), []byte("\n")))
}
