package host

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmbeddedGuests: every committed artifact decompresses to a wasm module, and
// EmbeddedGuests reports the Lua guest with the digest of what the host runs.
func TestEmbeddedGuests(t *testing.T) {
	guests := EmbeddedGuests()
	require.NotEmpty(t, guests)
	names := map[string]bool{}
	for _, g := range guests {
		names[g.Name] = true
		wasm := embeddedGuest(g.Name)
		assert.Equal(t, []byte("\x00asm"), wasm[:4], g.Name)
		assert.Equal(t, len(wasm), g.Size, g.Name)
		assert.Equal(t, fmt.Sprintf("%x", sha256.Sum256(wasm)), g.SHA256, g.Name)
	}
	assert.True(t, names[luaGuest], "the Lua guest %s is embedded", luaGuest)
	// Decompressed once per process: every caller shares one copy.
	assert.Same(t, &embeddedGuest(luaGuest)[0], &embeddedGuest(luaGuest)[0])
}

// BenchmarkDecompressGuest is what the first host of a process pays to decompress the
// Lua guest (later hosts reuse it).
func BenchmarkDecompressGuest(b *testing.B) {
	gz, err := guestFiles.ReadFile(luaGuest + ".gz")
	require.NoError(b, err)
	b.SetBytes(int64(len(embeddedGuest(luaGuest))))
	for b.Loop() {
		if _, err := gunzip(gz); err != nil {
			b.Fatal(err)
		}
	}
}
