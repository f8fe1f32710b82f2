package host_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

// A reload keeps the data of stores whose definition did not change, starts changed
// ones empty, and retiring the old host leaves the kept stores working.
func TestReloadKeepsUnchangedStores(t *testing.T) {
	const before = `
stores:
  keep: {kind: memory}
  change: {kind: memory}
policies:
  - {name: all, effect: allow}
`
	const after = `
stores:
  keep: {kind: memory}
  change: {kind: memory, max_size: 50}
policies:
  - {name: all, effect: allow}
`
	ctx := context.Background()
	old := newHost(t, before)
	for _, id := range []string{"keep", "change"} {
		s, _ := old.Store(id)
		require.NoError(t, s.Set(ctx, "k", "v", 0))
	}
	cfg, err := host.ParseConfig([]byte(after))
	require.NoError(t, err)
	next, err := old.Reload(ctx, cfg, host.WithLogger(discardLogger()))
	require.NoError(t, err)
	defer next.Close(ctx)
	require.NoError(t, old.Retire(ctx, next))

	var v string
	s, _ := next.Store("keep")
	found, err := s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.True(t, found, "an unchanged store keeps its data")
	require.Equal(t, "v", v)
	s, _ = next.Store("change")
	found, err = s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.False(t, found, "a changed store starts afresh")

	out, err := runLua(t, next, `local store = require("store"); local s = store.get("keep"); print(s:get("k"))`)
	require.NoError(t, err)
	require.Equal(t, "v\n", out)

	_, err = old.Reload(ctx, &host.Config{Stores: map[string]host.StoreConfig{"x": {Kind: "nope"}}})
	require.Error(t, err, "an invalid configuration is refused")
}
