package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func cond(field, op string, value any) Condition {
	return Condition{Field: field, Operator: op, Value: value}
}

func allowRule(name string, opts ...func(*Rule)) Rule {
	r := Rule{Name: name, Effect: Allow}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func denyRule(name string, opts ...func(*Rule)) Rule {
	r := allowRule(name, opts...)
	r.Effect = Deny
	return r
}

func modules(p ...string) func(*Rule)   { return func(r *Rule) { r.Modules = p } }
func actions(p ...string) func(*Rule)   { return func(r *Rule) { r.Actions = p } }
func resources(p ...string) func(*Rule) { return func(r *Rule) { r.Resources = p } }
func keys(p ...string) func(*Rule)      { return func(r *Rule) { r.Keys = p } }
func conds(c ...Condition) func(*Rule)  { return func(r *Rule) { r.Conditions = c } }

func get(module, store, key string) Request {
	return Request{Module: module, Action: ActionKeyGet, Resource: store, Key: key}
}

func list(module, store, prefix string) Request {
	return Request{Module: module, Action: ActionKeyList, Resource: store, Prefix: prefix}
}

func storeGet(module, store string) Request {
	return Request{Module: module, Action: ActionStoreGet, Resource: store}
}

type decideCase struct {
	name  string
	rules []Rule
	req   Request
	want  Decision
}

func allowed(p string) Decision  { return Decision{Allowed: true, Policy: p} }
func deniedBy(p string) Decision { return Decision{Policy: p} }

var defaultDeny = Decision{}

// The worked example of the issue: a reader limited to user:* keys, a writer
// denied admin:*, and a module with no policy at all.
var exampleRules = []Rule{
	allowRule("reader-users", modules("reader"), actions(ActionStoreGet, ActionKeyGet, ActionKeyHas, ActionKeyList),
		resources("users", "sessions"), keys("user:*")),
	allowRule("writer-all", modules("writer"), actions("*"), resources("users", "sessions")),
	denyRule("writer-no-admin", modules("writer"), actions("store.key.*"), keys("admin:*")),
}

func decideCases() []decideCase {
	return []decideCase{
		// Default deny.
		{"no policies", nil, get("m", "s", "k"), defaultDeny},
		{"module with no policy", exampleRules, get("nobody", "users", "user:1"), defaultDeny},
		{"module with no policy, store.get", exampleRules, storeGet("nobody", "users"), defaultDeny},
		{"unknown action", []Rule{allowRule("all")}, Request{Module: "m", Action: "store.key.steal", Resource: "s"}, defaultDeny},
		{"empty action", []Rule{allowRule("all")}, Request{Module: "m", Resource: "s"}, defaultDeny},

		// Allow only.
		{"allow only", exampleRules, get("reader", "users", "user:1"), allowed("reader-users")},
		{"allow only, other store", exampleRules, get("reader", "orders", "user:1"), defaultDeny},
		{"allow only, key outside", exampleRules, get("reader", "users", "admin:1"), defaultDeny},
		{"allow only, action outside", exampleRules, Request{Module: "reader", Action: ActionKeySet, Resource: "users", Key: "user:1"}, defaultDeny},
		{"allow everything", []Rule{allowRule("all")}, get("m", "s", "k"), allowed("all")},

		// Allow plus deny.
		{"allow+deny, allowed key", exampleRules, Request{Module: "writer", Action: ActionKeySet, Resource: "users", Key: "user:1"}, allowed("writer-all")},
		{"allow+deny, denied key", exampleRules, Request{Module: "writer", Action: ActionKeySet, Resource: "users", Key: "admin:1"}, deniedBy("writer-no-admin")},
		{"deny wins whatever the order", []Rule{
			denyRule("d", keys("x")), allowRule("a"),
		}, get("m", "s", "x"), deniedBy("d")},
		{"deny wins when listed last", []Rule{
			allowRule("a"), denyRule("d", keys("x")),
		}, get("m", "s", "x"), deniedBy("d")},
		{"deny alone", []Rule{denyRule("d")}, get("m", "s", "k"), deniedBy("d")},
		{"first of several allows", []Rule{
			allowRule("a1", resources("s*")), allowRule("a2", resources("s")), allowRule("a3"),
		}, get("m", "s", "k"), allowed("a1")},
		{"first of several denies", []Rule{
			allowRule("a"), denyRule("d1", modules("m*")), denyRule("d2", modules("m")),
		}, get("m", "s", "k"), deniedBy("d1")},
		{"first of several denies, exact listed first", []Rule{
			denyRule("d1", modules("m"), resources("s")), denyRule("d2"),
		}, get("m", "s", "k"), deniedBy("d1")},

		// A deny pattern that overlaps an allow.
		{"overlap, inside both", []Rule{
			allowRule("a", keys("user:*")), denyRule("d", keys("user:admin*")),
		}, get("m", "s", "user:admin1"), deniedBy("d")},
		{"overlap, allow only", []Rule{
			allowRule("a", keys("user:*")), denyRule("d", keys("user:admin*")),
		}, get("m", "s", "user:bob"), allowed("a")},
		{"overlap, store glob", []Rule{
			allowRule("a", resources("tenant-*")), denyRule("d", resources("tenant-*-secret")),
		}, get("m", "tenant-1-secret", "k"), deniedBy("d")},
		{"overlap, module glob", []Rule{
			allowRule("a", modules("web.*")), denyRule("d", modules("web.untrusted*")),
		}, get("web.untrusted2", "s", "k"), deniedBy("d")},

		// Each field, through patterns.
		{"modules exact miss", []Rule{allowRule("a", modules("m1"))}, get("m2", "s", "k"), defaultDeny},
		{"modules several", []Rule{allowRule("a", modules("m1", "m2"))}, get("m2", "s", "k"), allowed("a")},
		{"actions glob", []Rule{allowRule("a", actions("store.key.*"))}, get("m", "s", "k"), allowed("a")},
		{"actions glob miss", []Rule{allowRule("a", actions("store.key.*"))}, storeGet("m", "s"), defaultDeny},
		{"actions middle glob", []Rule{allowRule("a", actions("store.*.get"))}, get("m", "s", "k"), allowed("a")},
		{"resources exact and glob", []Rule{allowRule("a", resources("x", "s*"))}, get("m", "s1", "k"), allowed("a")},

		// Key globs with several stars.
		{"key two stars", []Rule{allowRule("a", keys("user:*:profile:*"))}, get("m", "s", "user:1:profile:name"), allowed("a")},
		{"key two stars, empty runs", []Rule{allowRule("a", keys("user:*:profile:*"))}, get("m", "s", "user::profile:"), allowed("a")},
		{"key two stars, miss", []Rule{allowRule("a", keys("user:*:profile:*"))}, get("m", "s", "user:1:prof:name"), defaultDeny},
		{"key star in front and back", []Rule{allowRule("a", keys("*:x:*"))}, get("m", "s", "a:x:b"), allowed("a")},
		{"key overlapping runs", []Rule{allowRule("a", keys("*ab*ab"))}, get("m", "s", "abab"), allowed("a")},
		{"key overlapping runs, too short", []Rule{allowRule("a", keys("*ab*ab"))}, get("m", "s", "aba"), defaultDeny},
		{"key doubled star", []Rule{allowRule("a", keys("a**b"))}, get("m", "s", "ab"), allowed("a")},

		// keys do not constrain store.get and store.info.
		{"keys ignored for store.get", exampleRules, storeGet("reader", "users"), allowed("reader-users")},
		{"keys ignored for store.info", []Rule{allowRule("a", keys("user:*"))},
			Request{Module: "m", Action: ActionStoreInfo, Resource: "s"}, allowed("a")},
		{"deny keys ignored for store.get", []Rule{allowRule("a"), denyRule("d", keys("admin:*"))}, storeGet("m", "s"), deniedBy("d")},
		{"key condition ignored for store.get", []Rule{allowRule("a", conds(cond("key", "eq", "x")))}, storeGet("m", "s"), allowed("a")},

		// The list-prefix rule.
		{"list allow, exact prefix", exampleRules, list("reader", "users", "user:"), allowed("reader-users")},
		{"list allow, longer prefix", exampleRules, list("reader", "users", "user:1"), allowed("reader-users")},
		{"list allow, shorter prefix", exampleRules, list("reader", "users", "us"), defaultDeny},
		{"list allow, empty prefix", exampleRules, list("reader", "users", ""), defaultDeny},
		{"list allow star covers all", []Rule{allowRule("a", keys("*"))}, list("m", "s", ""), allowed("a")},
		{"list allow exact key covers nothing", []Rule{allowRule("a", keys("user:1"))}, list("m", "s", "user:1"), defaultDeny},
		{"list allow suffix glob covers nothing", []Rule{allowRule("a", keys("*:x"))}, list("m", "s", "a:x"), defaultDeny},
		{"list allow two stars", []Rule{allowRule("a", keys("t:*:u:*"))}, list("m", "s", "t:1:u:"), allowed("a")},
		{"list allow two stars, not yet", []Rule{allowRule("a", keys("t:*:u:*"))}, list("m", "s", "t:1:"), defaultDeny},
		{"list deny, empty prefix", exampleRules, list("writer", "users", ""), deniedBy("writer-no-admin")},
		{"list deny, short prefix", exampleRules, list("writer", "users", "ad"), deniedBy("writer-no-admin")},
		{"list deny, inside", exampleRules, list("writer", "users", "admin:x"), deniedBy("writer-no-admin")},
		{"list deny, elsewhere", exampleRules, list("writer", "users", "user:"), allowed("writer-all")},
		{"list deny exact key under prefix", []Rule{allowRule("a"), denyRule("d", keys("secret"))}, list("m", "s", "sec"), deniedBy("d")},
		{"list deny exact key elsewhere", []Rule{allowRule("a"), denyRule("d", keys("secret"))}, list("m", "s", "secrets"), allowed("a")},
		{"list deny star middle", []Rule{allowRule("a"), denyRule("d", keys("a*z"))}, list("m", "s", "ab"), deniedBy("d")},
		{"list deny star middle, elsewhere", []Rule{allowRule("a"), denyRule("d", keys("a*z"))}, list("m", "s", "b"), allowed("a")},

		// Each operator, on a present attribute.
		{"eq", []Rule{allowRule("a", conds(cond("module", "eq", "m")))}, get("m", "s", "k"), allowed("a")},
		{"eq miss", []Rule{allowRule("a", conds(cond("module", "eq", "m")))}, get("n", "s", "k"), defaultDeny},
		{"ne", []Rule{allowRule("a", conds(cond("module", "ne", "m")))}, get("n", "s", "k"), allowed("a")},
		{"ne miss", []Rule{allowRule("a", conds(cond("module", "ne", "m")))}, get("m", "s", "k"), defaultDeny},
		{"in", []Rule{allowRule("a", conds(cond("resource", "in", []any{"s", "t"})))}, get("m", "t", "k"), allowed("a")},
		{"in []string", []Rule{allowRule("a", conds(cond("resource", "in", []string{"s", "t"})))}, get("m", "t", "k"), allowed("a")},
		{"in miss", []Rule{allowRule("a", conds(cond("resource", "in", []any{"s", "t"})))}, get("m", "u", "k"), defaultDeny},
		{"nin", []Rule{allowRule("a", conds(cond("resource", "nin", []any{"s", "t"})))}, get("m", "u", "k"), allowed("a")},
		{"nin miss", []Rule{allowRule("a", conds(cond("resource", "nin", []any{"s", "t"})))}, get("m", "s", "k"), defaultDeny},
		{"prefix", []Rule{allowRule("a", conds(cond("key", "prefix", "user:")))}, get("m", "s", "user:1"), allowed("a")},
		{"prefix miss", []Rule{allowRule("a", conds(cond("key", "prefix", "user:")))}, get("m", "s", "use"), defaultDeny},
		{"suffix", []Rule{allowRule("a", conds(cond("key", "suffix", ":tmp")))}, get("m", "s", "x:tmp"), allowed("a")},
		{"suffix miss", []Rule{allowRule("a", conds(cond("key", "suffix", ":tmp")))}, get("m", "s", "x:tmpx"), defaultDeny},
		{"contains", []Rule{allowRule("a", conds(cond("key", "contains", "*")))}, get("m", "s", "a*b"), allowed("a")},
		{"contains miss", []Rule{allowRule("a", conds(cond("key", "contains", "*")))}, get("m", "s", "ab"), defaultDeny},
		{"matches", []Rule{allowRule("a", conds(cond("key", "matches", `^user:[0-9]+$`)))}, get("m", "s", "user:42"), allowed("a")},
		{"matches miss", []Rule{allowRule("a", conds(cond("key", "matches", `^user:[0-9]+$`)))}, get("m", "s", "user:4x"), defaultDeny},
		{"matches unanchored", []Rule{allowRule("a", conds(cond("key", "matches", `[0-9]`)))}, get("m", "s", "ab7cd"), allowed("a")},
		{"all conditions must hold", []Rule{allowRule("a", conds(cond("module", "eq", "m"), cond("key", "eq", "k")))}, get("m", "s", "j"), defaultDeny},
		{"deny condition", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "prefix", "admin:")))}, get("m", "s", "admin:1"), deniedBy("d")},
		{"deny condition miss", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "prefix", "admin:")))}, get("m", "s", "user:1"), allowed("a")},

		// Each field, through conditions.
		{"field module", []Rule{allowRule("a", conds(cond("module", "prefix", "web.")))}, get("web.x", "s", "k"), allowed("a")},
		{"field action", []Rule{allowRule("a", conds(cond("action", "in", []any{ActionKeyGet, ActionKeyHas})))}, get("m", "s", "k"), allowed("a")},
		{"field action miss", []Rule{allowRule("a", conds(cond("action", "eq", ActionKeyHas)))}, get("m", "s", "k"), defaultDeny},
		{"field resource", []Rule{allowRule("a", conds(cond("resource", "suffix", "-cache")))}, get("m", "s-cache", "k"), allowed("a")},
		{"field key", []Rule{allowRule("a", conds(cond("key", "ne", "root")))}, get("m", "s", "k"), allowed("a")},
		{"field prefix on list", []Rule{allowRule("a", conds(cond("prefix", "prefix", "user:")))}, list("m", "s", "user:9"), allowed("a")},
		{"field prefix on list, miss", []Rule{allowRule("a", conds(cond("prefix", "prefix", "user:")))}, list("m", "s", "use"), defaultDeny},
		{"field prefix absent: allow does not match", []Rule{allowRule("a", conds(cond("prefix", "ne", "x")))}, get("m", "s", "k"), defaultDeny},
		{"field prefix absent on store.get: allow does not match", []Rule{allowRule("a", conds(cond("prefix", "ne", "x")))}, storeGet("m", "s"), defaultDeny},
		{"field prefix absent: deny matches", []Rule{allowRule("a"), denyRule("d", conds(cond("prefix", "eq", "x")))}, get("m", "s", "k"), deniedBy("d")},

		// Key conditions on a listing.
		{"list key prefix cond, allow covered", []Rule{allowRule("a", conds(cond("key", "prefix", "user:")))}, list("m", "s", "user:1"), allowed("a")},
		{"list key prefix cond, allow not covered", []Rule{allowRule("a", conds(cond("key", "prefix", "user:")))}, list("m", "s", "u"), defaultDeny},
		{"list key eq cond, allow never", []Rule{allowRule("a", conds(cond("key", "eq", "k")))}, list("m", "s", "k"), defaultDeny},
		{"list key ne cond, allow when value not under prefix", []Rule{allowRule("a", conds(cond("key", "ne", "root")))}, list("m", "s", "user:"), allowed("a")},
		{"list key ne cond, allow when value under prefix", []Rule{allowRule("a", conds(cond("key", "ne", "root")))}, list("m", "s", "ro"), defaultDeny},
		{"list key suffix cond, allow never", []Rule{allowRule("a", conds(cond("key", "suffix", "x")))}, list("m", "s", "ax"), defaultDeny},
		{"list key contains cond, allow", []Rule{allowRule("a", conds(cond("key", "contains", ":")))}, list("m", "s", "a:"), allowed("a")},
		{"list key matches cond, allow never", []Rule{allowRule("a", conds(cond("key", "matches", "")))}, list("m", "s", "a"), defaultDeny},
		{"list key eq cond, deny under prefix", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "eq", "admin")))}, list("m", "s", "ad"), deniedBy("d")},
		{"list key eq cond, deny elsewhere", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "eq", "admin")))}, list("m", "s", "us"), allowed("a")},
		{"list key in cond, deny", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "in", []any{"x", "admin"})))}, list("m", "s", ""), deniedBy("d")},
		{"list key prefix cond, deny shorter", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "prefix", "admin:")))}, list("m", "s", "a"), deniedBy("d")},
		{"list key prefix cond, deny longer", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "prefix", "admin:")))}, list("m", "s", "admin:1"), deniedBy("d")},
		{"list key prefix cond, deny elsewhere", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "prefix", "admin:")))}, list("m", "s", "user:"), allowed("a")},
		{"list key matches cond, deny always", []Rule{allowRule("a"), denyRule("d", conds(cond("key", "matches", "^zzz$")))}, list("m", "s", "user:"), deniedBy("d")},
		{"list ignores Key", []Rule{allowRule("a", keys("user:*"))}, Request{Module: "m", Action: ActionKeyList, Resource: "s", Key: "user:1", Prefix: ""}, defaultDeny},
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range decideCases() {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile(tc.rules)
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Decide(tc.req), "engine")
			assert.Equal(t, tc.want, refDecide(tc.rules, tc.req), "reference")
		})
	}
}

func TestNilAndEmptySetDeny(t *testing.T) {
	var s *Set
	assert.Equal(t, defaultDeny, s.Decide(get("m", "s", "k")))
	assert.Zero(t, s.Len())
	assert.Equal(t, defaultDeny, (&Set{}).Decide(get("m", "s", "k")))
	s, err := Compile(nil)
	require.NoError(t, err)
	assert.Equal(t, defaultDeny, s.Decide(get("m", "s", "k")))
	assert.Zero(t, s.Len())
}

func TestLen(t *testing.T) {
	s, err := Compile(exampleRules)
	require.NoError(t, err)
	assert.Equal(t, len(exampleRules), s.Len())
}

// The set must not change when the caller later edits the slices it passed.
func TestCompileCopiesInput(t *testing.T) {
	vals := []any{"k"}
	rules := []Rule{allowRule("a", keys("k"), conds(cond("key", "in", vals)))}
	s, err := Compile(rules)
	require.NoError(t, err)
	rules[0].Keys[0] = "other"
	vals[0] = "other"
	rules[0].Effect = Deny
	assert.Equal(t, allowed("a"), s.Decide(get("m", "s", "k")))
}
