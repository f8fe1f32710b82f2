package host_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		{"negative size", "stores:\n  a: {kind: memory, max_size: -1}\n", `store "a": max_size must not be negative`},
		{"bad duration", "stores:\n  a: {kind: memory, cleanup_interval: soon}\n", "soon"},
		{"negative timeout", "modules:\n  m: {timeout: -1s}\n", `module "m": timeout must not be negative`},
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
