package host_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

// TestLRUProtectEndToEnd: the shape of examples/wasmkv.yaml, with a small store. A
// module that policies keep from deleting admin:* fills the LRU store; admin:config is
// never evicted, and once only protected keys remain, writes are "store is full".
func TestLRUProtectEndToEnd(t *testing.T) {
	example := string(readExample(t, "wasmkv.yaml"))
	require.Contains(t, example, `protect: ["admin:*"]`, "the example's LRU store protects the keys its policies guard")
	_, err := host.ParseConfig([]byte(example))
	require.NoError(t, err)

	cfg := strings.Replace(example, "max_size: 100000", "max_size: 4", 1)
	cfg += "  admin:\n    timeout: 10s\n"
	cfg = strings.Replace(cfg, "policies:\n", `policies:
  - name: admin-writes
    effect: allow
    modules: ["admin"]
    resources: ["app:orders"]
`, 1)
	h := newHost(t, cfg)
	mustRunAs(t, h, "admin", `
local o = require("store").get("app:orders")
print(o:set("admin:config", "keep me"), o:set("admin:limits", "and me"))`, "true\ttrue")
	mustRunAs(t, h, "web.checkout", `
local o = require("store").get("app:orders")
for i = 1, 20 do assert(o:set("order:" .. i, i)) end
print(o:get("admin:config"), o:get("admin:limits"), o:get("order:20"), (o:get("order:1")))`, "keep me\tand me\t20\tnil")

	// Now fill the rest with protected keys: the store refuses a new key.
	mustRunAs(t, h, "admin", `
local o = require("store").get("app:orders")
print(o:set("admin:a", 1), o:set("admin:b", 1))
local ok, e = o:set("admin:c", 1)
print(ok, e:kind(), e:message(), e:retryable())
ok, e = o:set("order:21", 1)
print(ok, e:kind())`, "true\ttrue", "false\tUnavailable\tstore is full\ttrue", "false\tUnavailable")

	for _, bad := range []struct{ yaml, want string }{
		{"stores:\n  a: {kind: memory, protect: [\"x:*\"]}\n", `store "a": protect is for eviction lru`},
		{"stores:\n  a: {kind: memory, eviction: lru, protect: [\"\"]}\n", `store "a": protect[0] is empty`},
		{"stores:\n  a: {kind: redis, protect: [\"x:*\"]}\n", `store "a": protect is for eviction lru`},
	} {
		_, err := host.ParseConfig([]byte(bad.yaml))
		assert.ErrorContains(t, err, bad.want, fmt.Sprint(bad.yaml))
	}
}
