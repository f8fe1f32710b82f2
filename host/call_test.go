package host_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/govalue"
	"github.com/wasmkv/wasmkv/host"
)

// Call passes a table as the script's first argument and brings back its first return
// value, and tells a returned error from a raised one.
func TestCallInputAndResult(t *testing.T) {
	h := newHost(t, testConfig)
	ctx := context.Background()
	in, err := govalue.Marshal(map[string]any{"name": "Ada", "tags": []string{"a", "b"}})
	require.NoError(t, err)
	call := func(src string, args ...string) ([]byte, error) {
		return h.Call(ctx, host.Script{Module: "calltest", Name: "call.lua", Source: []byte(src), Args: args}, in)
	}
	decode := func(b []byte) any {
		var v any
		require.NoError(t, govalue.Unmarshal(b, &v))
		return v
	}

	out, err := call(`local req, extra = ...; return {greeting = "hi " .. req.name, n = #req.tags, extra = extra}`, "x")
	require.NoError(t, err)
	require.Equal(t, map[any]any{"greeting": "hi Ada", "n": int64(2), "extra": "x"}, decode(out))

	out, err = call(`return`)
	require.NoError(t, err)
	require.Nil(t, decode(out), "no return value is null")

	out, err = call(`return nil, errors.new("NotFound", "no such thing")`)
	var re *host.RunError
	require.True(t, errors.As(err, &re))
	require.Equal(t, abi.NotFound, re.Kind)
	require.Equal(t, []byte{0xf6}, out, "a returned error comes with the null value")

	out, err = call(`error(errors.new("NotFound", "raised"))`)
	require.True(t, errors.As(err, &re))
	require.Equal(t, abi.NotFound, re.Kind)
	require.Nil(t, out, "a raised error comes with no value")

	out, err = call(`return function() end`)
	require.True(t, errors.As(err, &re))
	require.Equal(t, abi.Invalid, re.Kind)
	require.Contains(t, re.Message, "return value")
	require.Nil(t, out, "an unencodable return value counts as raised")

	// Run, without a result, is unchanged.
	require.NoError(t, h.Run(ctx, host.Script{Module: "calltest", Name: "r.lua", Source: []byte(`return function() end`)}))
}
