package host

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// TestEmbeddingLoadsPucLua: an embedder's runtime with our host module can instantiate
// and run a guest that imports the unwinding functions (the PUC Lua guest: with no task
// from a Host run, it reports that failure and returns normally).
func TestEmbeddingLoadsPucLua(t *testing.T) {
	ctx := context.Background()
	cfg, err := ParseConfig([]byte("stores:\n  app:cache: {kind: memory}\n"))
	require.NoError(t, err)
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	e, err := Instantiate(ctx, r, cfg, WithCompilationCacheDir(""))
	require.NoError(t, err)
	defer e.Close(ctx)
	mod, err := r.InstantiateWithConfig(ctx, embeddedGuest(pucLuaGuest), wazero.NewModuleConfig().WithName("embedded").WithStartFunctions("_initialize"))
	require.NoError(t, err)
	_, err = mod.ExportedFunction("run").Call(ctx)
	require.NoError(t, err)
	require.NoError(t, mod.Close(ctx))
}
