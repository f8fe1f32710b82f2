package policy_test

import (
	"fmt"

	"github.com/wasmkv/wasmkv/policy"
)

// Three modules share two stores: a reader limited to user:* keys, a writer
// that may do anything except touch admin:* keys, and a module with no
// policy, which can do nothing.
func Example() {
	set, err := policy.Compile([]policy.Rule{
		{
			Name:      "reader-users",
			Effect:    policy.Allow,
			Modules:   []string{"reader"},
			Actions:   []string{policy.ActionStoreGet, policy.ActionKeyGet, policy.ActionKeyList},
			Resources: []string{"users", "sessions"},
			Keys:      []string{"user:*"},
		},
		{
			Name:      "writer-all",
			Effect:    policy.Allow,
			Modules:   []string{"writer"},
			Resources: []string{"users", "sessions"},
		},
		{
			Name:    "writer-no-admin",
			Effect:  policy.Deny,
			Modules: []string{"writer"},
			Actions: []string{"store.key.*"},
			Keys:    []string{"admin:*"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range []policy.Request{
		{Module: "reader", Action: policy.ActionKeyGet, Resource: "users", Key: "user:1"},
		{Module: "reader", Action: policy.ActionKeySet, Resource: "users", Key: "user:1"},
		{Module: "reader", Action: policy.ActionKeyList, Resource: "users", Prefix: "user:"},
		{Module: "reader", Action: policy.ActionKeyList, Resource: "users", Prefix: ""},
		{Module: "writer", Action: policy.ActionKeySet, Resource: "sessions", Key: "s:9"},
		{Module: "writer", Action: policy.ActionKeyDelete, Resource: "users", Key: "admin:root"},
		{Module: "writer", Action: policy.ActionKeyList, Resource: "users", Prefix: ""},
		{Module: "guest", Action: policy.ActionStoreGet, Resource: "users"},
	} {
		d := set.Decide(r)
		fmt.Printf("%-6s %-16s %-8s %-12q allowed=%-5v by %q\n", r.Module, r.Action, r.Resource, r.Key+r.Prefix, d.Allowed, d.Policy)
	}

	_, err = policy.Compile([]policy.Rule{{Name: "typo", Effect: policy.Allow, Actions: []string{"store.key.gte"}}})
	fmt.Println(err)
	// Output:
	// reader store.key.get    users    "user:1"     allowed=true  by "reader-users"
	// reader store.key.set    users    "user:1"     allowed=false by ""
	// reader store.key.list   users    "user:"      allowed=true  by "reader-users"
	// reader store.key.list   users    ""           allowed=false by ""
	// writer store.key.set    sessions "s:9"        allowed=true  by "writer-all"
	// writer store.key.delete users    "admin:root" allowed=false by "writer-no-admin"
	// writer store.key.list   users    ""           allowed=false by "writer-no-admin"
	// guest  store.get        users    ""           allowed=false by ""
	// policy: policy "typo": actions[0]: "store.key.gte" is not a known action and matches none (known: store.get, store.info, store.key.get, store.key.set, store.key.delete, store.key.has, store.key.list)
}
