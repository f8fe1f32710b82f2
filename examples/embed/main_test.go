package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEmbed runs the example and asserts what it prints.
func TestEmbed(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, ".."))
	require.Equal(t, `plugin: hello ada, visit 1
lock taken
1 names seen
lua read: ada, visit 1
lua write: PermissionDenied: permission denied: store.key.set on "app:cache"
go read: ada, visit 1
wat.stranger: 0 allowed, 1 denied
wat.writer: 2 allowed, 0 denied
go read: wat:hello = "hello from wat" (found true)
plain module "" runs beside it
`, out.String())
}
