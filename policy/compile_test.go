package policy

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompileErrors(t *testing.T) {
	ok := allowRule("ok")
	cases := []struct {
		name   string
		rules  []Rule
		policy string // how the message names the policy
		field  string
		reason string // a fragment of the reason
	}{
		{"empty name", []Rule{ok, {Effect: Allow}}, "policies[1]", "name", "non-empty name"},
		{"duplicate name", []Rule{ok, allowRule("x"), allowRule("ok")}, `policy "ok"`, "name", "already used by policies[0]"},
		{"no effect", []Rule{{Name: "p"}}, `policy "p"`, "effect", `not ""`},
		{"bad effect", []Rule{{Name: "p", Effect: "permit"}}, `policy "p"`, "effect", `not "permit"`},
		{"effect case", []Rule{{Name: "p", Effect: "Allow"}}, `policy "p"`, "effect", `not "Allow"`},
		{"unknown action", []Rule{allowRule("p", actions(ActionKeyGet, "store.key.gte"))}, `policy "p"`, "actions[1]", `"store.key.gte" is not a known action`},
		{"action glob matching nothing", []Rule{allowRule("p", actions("kv.*"))}, `policy "p"`, "actions[0]", "matches none"},
		{"action glob, wrong case", []Rule{allowRule("p", actions("Store.*"))}, `policy "p"`, "actions[0]", "not a known action"},
		{"empty modules list", []Rule{allowRule("p", func(r *Rule) { r.Modules = []string{} })}, `policy "p"`, "modules", "empty list"},
		{"empty actions list", []Rule{allowRule("p", func(r *Rule) { r.Actions = []string{} })}, `policy "p"`, "actions", "empty list"},
		{"empty resources list", []Rule{allowRule("p", func(r *Rule) { r.Resources = []string{} })}, `policy "p"`, "resources", "empty list"},
		{"empty keys list", []Rule{allowRule("p", func(r *Rule) { r.Keys = []string{} })}, `policy "p"`, "keys", "empty list"},
		{"empty module pattern", []Rule{allowRule("p", modules("m", ""))}, `policy "p"`, "modules[1]", "empty pattern"},
		{"empty action pattern", []Rule{allowRule("p", actions(""))}, `policy "p"`, "actions[0]", "empty pattern"},
		{"empty resource pattern", []Rule{allowRule("p", resources(""))}, `policy "p"`, "resources[0]", "empty pattern"},
		{"empty key pattern", []Rule{allowRule("p", keys("a", "b", ""))}, `policy "p"`, "keys[2]", "empty pattern"},
		{"unknown field", []Rule{allowRule("p", conds(cond("module", "eq", "m"), cond("store", "eq", "s")))}, `policy "p"`, "conditions[1].field", `unknown field "store"`},
		{"empty field", []Rule{allowRule("p", conds(cond("", "eq", "m")))}, `policy "p"`, "conditions[0].field", `unknown field ""`},
		{"unknown operator", []Rule{allowRule("p", conds(cond("key", "startswith", "a")))}, `policy "p"`, "conditions[0].operator", `unknown operator "startswith"`},
		{"operator case", []Rule{allowRule("p", conds(cond("key", "EQ", "a")))}, `policy "p"`, "conditions[0].operator", `unknown operator "EQ"`},
		{"bad regexp", []Rule{allowRule("p", conds(cond("key", "matches", "user:(")))}, `policy "p"`, "conditions[0].value", "invalid RE2"},
		{"non-RE2 regexp", []Rule{allowRule("p", conds(cond("key", "matches", `(?=x)`)))}, `policy "p"`, "conditions[0].value", "invalid RE2"},
		{"number for eq", []Rule{allowRule("p", conds(cond("key", "eq", 42)))}, `policy "p"`, "conditions[0].value", "needs a string, got int"},
		{"missing value", []Rule{allowRule("p", conds(cond("key", "prefix", nil)))}, `policy "p"`, "conditions[0].value", "needs a string, got nothing"},
		{"list for eq", []Rule{allowRule("p", conds(cond("key", "eq", []any{"a"})))}, `policy "p"`, "conditions[0].value", "needs a string"},
		{"list for matches", []Rule{allowRule("p", conds(cond("key", "matches", []string{"a"})))}, `policy "p"`, "conditions[0].value", "needs a string"},
		{"string for in", []Rule{allowRule("p", conds(cond("key", "in", "a")))}, `policy "p"`, "conditions[0].value", "needs a non-empty list of strings: got string"},
		{"nil for nin", []Rule{allowRule("p", conds(cond("key", "nin", nil)))}, `policy "p"`, "conditions[0].value", "list of strings: got"},
		{"number in list", []Rule{allowRule("p", conds(cond("key", "in", []any{"a", 1})))}, `policy "p"`, "conditions[0].value", "element 1 is int"},
		{"map for in", []Rule{allowRule("p", conds(cond("key", "in", map[string]any{"a": "b"})))}, `policy "p"`, "conditions[0].value", "list of strings: got"},
		{"empty list for in", []Rule{allowRule("p", conds(cond("key", "in", []any{})))}, `policy "p"`, "conditions[0].value", "the list is empty"},
		{"empty list for nin", []Rule{allowRule("p", conds(cond("key", "nin", []string{})))}, `policy "p"`, "conditions[0].value", "the list is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile(tc.rules)
			require.Error(t, err)
			assert.Nil(t, s)
			var ce *CompileError
			require.True(t, errors.As(err, &ce), "error is %T, want *CompileError", err)
			assert.Equal(t, tc.field, ce.Field)
			msg := err.Error()
			assert.Regexp(t, `^policy: `, msg)
			assert.Contains(t, msg, tc.policy+": "+tc.field+": ")
			assert.Contains(t, msg, tc.reason)
		})
	}
}

// A key pattern or key condition on a policy that only covers store.get or
// store.info is legal: it is simply ignored there.
func TestCompileAcceptsKeysOnNonKeyActions(t *testing.T) {
	s, err := Compile([]Rule{allowRule("p", actions(ActionStoreGet, ActionStoreInfo), keys("user:*"),
		conds(cond("key", "prefix", "user:")))})
	require.NoError(t, err)
	assert.Equal(t, allowed("p"), s.Decide(storeGet("m", "s")))
}

func TestCompileAcceptsEdgeCases(t *testing.T) {
	_, err := Compile([]Rule{
		allowRule("stars", modules("**"), actions("store.*"), resources("*a**b*")),
		allowRule("empty conditions", conds()),
		allowRule("empty values", conds(cond("key", "eq", ""), cond("key", "matches", ""), cond("key", "in", []any{""}))),
		denyRule("unicode ✓", keys("ключ:*")),
		allowRule("action condition on unknown value", conds(cond("action", "eq", "store.nope"))),
	})
	require.NoError(t, err)
}

func TestCompileErrorNamesUnnamedPolicyByIndex(t *testing.T) {
	_, err := Compile([]Rule{allowRule("a"), allowRule("b"), {Effect: Deny}})
	require.EqualError(t, err, "policy: policies[2]: name: a policy needs a non-empty name")
}
