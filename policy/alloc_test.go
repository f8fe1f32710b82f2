package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// allocRules exercise every path of Decide: each index level, each
// operator on each field, keys on every kind of action, and both effects.
var allocRules = []Rule{
	allowRule("reader", modules("reader"), actions(ActionStoreGet, "store.key.get", ActionKeyList), resources("users"), keys("user:*")),
	allowRule("web", modules("web.*"), resources("tenant-*"), keys("t:*:k:*"),
		conds(cond("module", "ne", "web.bad"), cond("action", "in", []any{ActionKeyGet, ActionKeyList}),
			cond("resource", "nin", []any{"tenant-x"}), cond("key", "prefix", "t:"), cond("prefix", "suffix", ""))),
	allowRule("any", conds(cond("key", "contains", ":"), cond("module", "eq", "m"))),
	denyRule("no-admin", actions("store.key.*"), keys("admin:*"), conds(cond("key", "ne", "admin:ok"))),
	denyRule("no-bad", modules("web.bad"), conds(cond("prefix", "eq", "x"))),
}

var allocRegexpRule = denyRule("re", conds(cond("key", "matches", `^secret:[0-9]+$`), cond("resource", "matches", "^vault")))

func allocRequests() []Request {
	return []Request{
		get("reader", "users", "user:1"),
		get("reader", "users", "admin:1"),
		list("reader", "users", "user:"),
		list("reader", "users", ""),
		storeGet("reader", "users"),
		get("web.a", "tenant-1", "t:1:k:2"),
		list("web.a", "tenant-1", "t:1:k:"),
		get("web.bad", "tenant-1", "t:1:k:2"),
		get("m", "s", "a:b"),
		get("nobody", "nothing", "k"),
		{Module: "m", Action: "store.key.nope", Resource: "s"},
		{Module: "m", Action: ActionStoreInfo, Resource: "vault1", Key: "secret:1"},
		get("m", "vault1", "secret:12"),
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	rules := allocRules
	if !raceEnabled {
		rules = append(append([]Rule(nil), allocRules...), allocRegexpRule)
	}
	s, err := Compile(rules)
	require.NoError(t, err)
	for _, req := range allocRequests() {
		allocs := testing.AllocsPerRun(200, func() { s.Decide(req) })
		require.Zero(t, allocs, "Decide(%+v) allocates", req)
	}
}
