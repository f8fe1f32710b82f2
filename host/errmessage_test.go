package host_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// TestErrorMessagesBounded: an error a script raises or returns reaches the caller cut to
// abi.MaxErrorMessageBytes with a marker that gives its length, whatever its size (10 MB
// raised, 15 MiB returned, 17 MiB: past what one request can carry); a __tostring that
// raises is an ordinary script error; and the instance survives every one of them.
func TestErrorMessagesBounded(t *testing.T) {
	h := newHost(t, testConfig+"modules:\n  e: {pool_size: 1}\n")
	ctx := context.Background()
	marker := regexp.MustCompile(`… \[truncated, (\d+) bytes\]$`)
	for _, tc := range []struct {
		name, src string
		kind      abi.Kind
		full      int // the message's length before the cut (at least), 0 when not cut
		has       string
	}{
		{"raised 10 MB string", `error(string.rep("x", 10000000), 0)`, abi.Unknown, 10000000, "xxxx"},
		{"returned 15 MiB error", `return nil, errors.new("INVALID", string.rep("y", 15 * 2^20))`, abi.Invalid, 15 << 20, "yyyy"},
		{"returned 17 MiB error", `return nil, errors.new("INVALID", string.rep("z", 17 * 2^20))`, abi.Invalid, 17 << 20, "zzzz"},
		{"__tostring raises", `return nil, setmetatable({}, {__tostring = function() error("boom", 0) end})`, abi.Unknown, 0,
			"the error's __tostring failed: boom"},
		{"__tostring returns 10 MB", `return nil, setmetatable({}, {__tostring = function() return string.rep("w", 10000000) end})`,
			abi.Unknown, 10000000, "wwww"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.PoolStats()
			err := h.Run(ctx, host.Script{Module: "e", Name: "e.lua", Source: []byte(tc.src), Timeout: time.Minute})
			re := runErr(t, err)
			assert.Equal(t, tc.kind, re.Kind, re.Message[:min(len(re.Message), 200)])
			assert.Contains(t, re.Message, tc.has)
			assert.LessOrEqual(t, len(re.Message), abi.MaxErrorMessageBytes)
			if m := marker.FindStringSubmatch(re.Message); tc.full > 0 {
				require.NotNil(t, m, "no marker at the end of %q", re.Message[len(re.Message)-100:])
				// A raised message also carries the stack traceback.
				n, _ := strconv.Atoi(m[1])
				assert.GreaterOrEqual(t, n, tc.full)
				assert.Less(t, n, tc.full+1000)
			} else {
				assert.Nil(t, m)
			}
			after := h.PoolStats()
			assert.Equal(t, before.Discarded, after.Discarded, "the instance was discarded")
			mustRunAs(t, h, "e", `print("alive")`, "alive")
			// The next run reuses the instance, unless the run's buffers grew its memory past
			// what a reset keeps: it is then recycled (issue 12 item 9), which is not a
			// broken instance.
			recycled := after.Recycled - before.Recycled
			assert.Equal(t, after.Created+recycled, h.PoolStats().Created, "the next run needed a new instance")
		})
	}
}
