package host_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/host"
)

// TestPolicyWorkedExample runs examples/policies.yaml, the README's worked example, end
// to end: every action, as Lua in the guest, for a reader, a writer and a module with no
// policy.
func TestPolicyWorkedExample(t *testing.T) { eachGuest(t, testPolicyWorkedExample) }

func testPolicyWorkedExample(t *testing.T, guest string) {
	cfgYAML, err := os.ReadFile("../examples/policies.yaml")
	require.NoError(t, err)
	var logs bytes.Buffer
	h := newHost(t, string(cfgYAML), host.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), host.WithDefaultGuest(guest))
	ctx := context.Background()
	profiles, _ := h.Store("app:profiles")
	require.NoError(t, profiles.Set(ctx, "user:1", "alice", 0))
	require.NoError(t, profiles.Set(ctx, "admin:root", "secret", 0))

	as := func(t *testing.T, module, src string, want ...string) {
		t.Helper()
		out, err := runLuaAs(t, h, module, src)
		require.NoError(t, err, out)
		assert.Equal(t, joinLines(want), out)
	}
	open := `local p, perr = require("store").get("app:profiles")
`
	t.Run("reader", func(t *testing.T) {
		as(t, "reports.reader", open+`show(perr)
show(p:get("user:1"))
show(p:has("user:1"))
show(#p:list({prefix = "user:"}).items)
show(p:info().id)
show(p:get("admin:root"))
show(p:entry("admin:root"))
show(p:set("user:1", "mallory"))
show(p:put("user:2", "x"))
show(p:incr("user:n"))
show(p:delete("user:1"))
show(p:has("admin:root"))
show(p:list())
show(p:list({prefix = "us"}))
show(p:get("user:1"))`,
			`nil`, `"alice"`, `true`, `1`, `"app:profiles"`,
			`nil err(PermissionDenied,false,permission denied: store.key.get on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.key.get on "app:profiles")`,
			`false err(PermissionDenied,false,permission denied: store.key.set on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.key.set on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.key.set on "app:profiles")`,
			`false err(PermissionDenied,false,permission denied: store.key.delete on "app:profiles")`,
			`false err(PermissionDenied,false,permission denied: store.key.has on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.key.list on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.key.list on "app:profiles")`,
			`"alice"`)
	})
	t.Run("writer", func(t *testing.T) {
		as(t, "web.writer", open+`show(p:set("user:3", "carol"))
show(p:set("admin:root", "pwned"))
show(p:delete("admin:root"))
show(p:put("admin:x", 1))
show(p:get("admin:root"))
show(#p:list({prefix = "user:"}).items)
show(p:list())
show(p:list({prefix = "ad"}))
show(require("store").get("app:sessions") ~= nil)`,
			`true`,
			`false err(PermissionDenied,false,permission denied: store.key.set on "app:profiles")`,
			`false err(PermissionDenied,false,permission denied: store.key.delete on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.key.set on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.key.get on "app:profiles")`,
			`2`,
			`nil err(PermissionDenied,false,permission denied: store.key.list on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.key.list on "app:profiles")`,
			`true`)
	})
	t.Run("module with no policy", func(t *testing.T) {
		as(t, "tenant.unknown", open+`show(p, perr)
show(require("store").get("app:sessions"))
show(require("store").get("app:does-not-exist"))`,
			`nil err(PermissionDenied,false,permission denied: store.get on "app:profiles")`,
			`nil err(PermissionDenied,false,permission denied: store.get on "app:sessions")`,
			`nil err(PermissionDenied,false,permission denied: store.get on "app:does-not-exist")`)
	})
	t.Run("denied writes leave the store untouched", func(t *testing.T) {
		var v string
		found, err := profiles.Get(ctx, "admin:root", &v)
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, "secret", v)
		found, err = profiles.Get(ctx, "user:1", &v)
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, "alice", v)
		has, err := profiles.Has(ctx, "admin:x")
		require.NoError(t, err)
		assert.False(t, has)
	})
	t.Run("counters and logs", func(t *testing.T) {
		allowed, denied := h.Decisions("reports.reader")
		assert.Equal(t, uint64(6), allowed) // store.get, get, has, list, info and the last get
		assert.Equal(t, uint64(9), denied)
		allowed, denied = h.Decisions("tenant.unknown")
		assert.Equal(t, uint64(0), allowed)
		assert.Equal(t, uint64(3), denied)
		log := logs.String()
		assert.Contains(t, log, `msg="permission denied" module=web.writer action=store.key.set resource=app:profiles key=admin:root prefix="" policy=writer-no-admin`)
		assert.Contains(t, log, `module=tenant.unknown action=store.get resource=app:sessions key="" prefix="" policy=""`)
		assert.Contains(t, log, `module=reports.reader action=store.key.list resource=app:profiles key="" prefix=us policy=""`)
	})
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestPolicyNullListIsAnError: YAML reads "modules:" with no value as absent, which
// would mean any module; the loader refuses it instead of failing open.
func TestPolicyNullListIsAnError(t *testing.T) {
	for _, field := range []string{"modules", "actions", "resources", "keys"} {
		_, err := host.ParseConfig([]byte("policies:\n  - name: p1\n    effect: allow\n    " + field + ":\n"))
		require.Error(t, err, field)
		assert.Contains(t, err.Error(), `policy "p1"`)
		assert.Contains(t, err.Error(), field)
	}
	_, err := host.ParseConfig([]byte("policies:\n  - name: p1\n    effect: allow\n    modules: [a]\n"))
	require.NoError(t, err)
}
