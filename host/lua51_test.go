package host_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

// TestLua51ProtectedCalls runs the scripts in testdata/lua51 in the guest and compares
// their output byte for byte with what the reference Lua 5.1 interpreter printed
// (the .out files). They cover pcall, xpcall and error, including gopher-lua issue 448,
// which the guest works around.
func TestLua51ProtectedCalls(t *testing.T) { eachGuest(t, testLua51ProtectedCalls) }

func testLua51ProtectedCalls(t *testing.T, guest string) {
	h, _ := newClockHost(t, host.WithDefaultGuest(guest))
	scripts, err := filepath.Glob("testdata/lua51/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	for _, path := range scripts {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".lua"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			require.NoError(t, err)
			want, err := os.ReadFile(strings.TrimSuffix(path, ".lua") + ".out")
			require.NoError(t, err)
			var out bytes.Buffer
			err = h.Run(context.Background(), host.Script{Module: "test", Name: name, Source: src, Stdout: &out, Timeout: 30 * time.Second})
			require.NoError(t, err)
			require.Equal(t, string(want), out.String())
		})
	}
}
