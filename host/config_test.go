package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

func TestDefaultConfig(t *testing.T) {
	cfg := host.DefaultConfig()
	require.Contains(t, cfg.Stores, "app:cache")
	sc := cfg.Stores["app:cache"]
	assert.Equal(t, "memory", sc.Kind)
	assert.Equal(t, 10000, sc.MaxSize)
	assert.Equal(t, 5*time.Minute, sc.CleanupInterval)
	require.Len(t, cfg.Policies, 1)
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top-level field", "storez: {}", "field storez not found"},
		{"unknown store field", "stores:\n  a:\n    kind: memory\n    max_sise: 3\n", "field max_sise not found"},
		{"missing kind", "stores:\n  a: {max_size: 3}\n", `store "a": kind is required`},
		{"unknown kind", "stores:\n  a: {kind: disk}\n", `store "a": unknown kind "disk"`},
		{"unknown eviction", "stores:\n  a: {kind: memory, eviction: lfu}\n", `store "a": unknown eviction "lfu"`},
		{"negative size", "stores:\n  a: {kind: memory, max_size: -1}\n", `store "a": max_size -1 is out of range: 1 to 100000000, or 0 for the default`},
		{"bad duration", "stores:\n  a: {kind: memory, cleanup_interval: soon}\n", "soon"},
		{"negative timeout", "modules:\n  m: {timeout: -1s}\n", `module "m": timeout -1s is out of range: 1ms to 24h0m0s, or 0 for the default`},
		{"cleanup interval that would burn a core", "stores:\n  a: {kind: memory, cleanup_interval: 1ns}\n", `store "a": cleanup_interval 1ns is out of range: 1s to 24h0m0s`},
		{"memory limit below the guest's need", "modules:\n  m: {memory_limit: 1MiB}\n", `module "m": memory_limit 1MiB is out of range: 16MiB to 4GiB`},
		{"memory limit past 4GiB", "modules:\n  m: {memory_limit: 100GiB}\n", `module "m": memory_limit 100GiB is out of range: 16MiB to 4GiB`},
		{"pool past its maximum", "modules:\n  m: {pool_size: 100000}\n", `module "m": pool_size 100000 is out of range: 1 to 64`},
		{"prewarm past its maximum", "modules:\n  m: {prewarm: 100000}\n", `module "m": prewarm 100000 is out of range: 1 to 64`},
		{"prewarm past the pool", "modules:\n  m: {prewarm: 8}\n", `module "m": prewarm 8 is more than pool_size 4`},
		{"value limit past a request", "stores:\n  a: {kind: memory, max_value_bytes: 16777216}\n", `store "a": max_value_bytes 16MiB is out of range: 1B to 8MiB`},
		{"negative op timeout", "stores:\n  a: {kind: redis, op_timeout: -1s}\n", `store "a": op_timeout -1s is out of range`},
		{"null policy entry", "policies:\n  - \n  - {name: p, effect: allow}\n", "policies[0] is empty"},
		{"invalid policy", "policies:\n  - name: p\n    effect: permit\n", "p"},
		{"empty pattern list", "policies:\n  - name: p\n    effect: allow\n    modules: []\n", "modules"},
		{"not yaml", "stores: [", "host: config:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := host.ParseConfig([]byte(tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var ce *host.ConfigError
			assert.ErrorAs(t, err, &ce)
		})
	}
}

func TestEmptyConfigDeniesEverything(t *testing.T) {
	h := newHost(t, "stores:\n  app:cache: {kind: memory}\n")
	mustRun(t, h, `show(require("store").get("app:cache"))`,
		`nil err(PermissionDenied,false,permission denied: store.get on "app:cache")`)
	allowed, denied := h.Decisions("test")
	assert.Equal(t, uint64(0), allowed)
	assert.Equal(t, uint64(1), denied)
}

// TestRunLimitsChecked: a script's own limits are held to the ranges of a config's.
func TestRunLimitsChecked(t *testing.T) {
	h := newHost(t, testConfig)
	for _, s := range []host.Script{
		{Module: "m", Source: []byte("return"), Timeout: -time.Second},
		{Module: "m", Source: []byte("return"), MemoryLimit: 1 << 20},
		{Module: "m", Source: []byte("return"), MemoryLimit: 100 << 30},
	} {
		err := h.Run(context.Background(), s)
		var e *host.Error // Run's one error type
		require.ErrorAs(t, err, &e, "%+v", s)
		assert.Equal(t, abi.Invalid, e.Kind)
		assert.Contains(t, e.Message, "out of range")
	}
	_, err := host.New(context.Background(), host.DefaultConfig(), host.WithMemoryLimit(1<<20))
	assert.ErrorContains(t, err, "memory_limit 1MiB is out of range")
}
