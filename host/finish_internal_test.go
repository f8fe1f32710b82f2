package host

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wasmkv/wasmkv/abi"
)

// TestFinishMessageCutByHost: a guest that is not ours may report an outcome with a
// message of any size up to a request's 16 MiB; the host keeps only a bounded one.
func TestFinishMessageCutByHost(t *testing.T) {
	inst := &instance{}
	msg := strings.Repeat("m", 15<<20)
	inst.dispatch(context.Background(), &abi.Request{Op: abi.OpFinish, Err: abi.NewError(abi.Invalid, msg)}, &abi.Response{})
	assert.True(t, inst.finished)
	assert.Equal(t, abi.Invalid, inst.result.Kind)
	assert.LessOrEqual(t, len(inst.result.Message), abi.MaxErrorMessageBytes)
	assert.True(t, strings.HasSuffix(inst.result.Message, "… [truncated, 15728640 bytes]"))
}
