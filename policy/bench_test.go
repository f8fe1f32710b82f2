package policy

import (
	"fmt"
	"testing"
)

// benchRules builds n policies of which only four concern the benchmark's
// requests. The rest look like a large deployment: most name one module and
// one store exactly, one in ten puts an exact module on a store glob, and
// one in fifty puts a module glob on the very store the requests use, which
// the index cannot rule out and so must scan.
func benchRules(n int) []Rule {
	rules := []Rule{
		allowRule("reader-users", modules("reader"), actions(ActionStoreGet, ActionKeyGet, ActionKeyList), resources("users"), keys("user:*")),
		allowRule("writer-users", modules("writer"), actions("*"), resources("users")),
		denyRule("writer-no-admin", modules("writer"), actions("store.key.*"), keys("admin:*")),
		denyRule("quarantine", modules("quarantine.*")),
	}
	for i := len(rules); i < n; i++ {
		name := fmt.Sprintf("unrelated-%d", i)
		switch {
		case i%50 == 49:
			rules = append(rules, allowRule(name, modules(fmt.Sprintf("batch-%d.*", i)), resources("users"), keys("batch:*")))
		case i%10 == 9:
			rules = append(rules, allowRule(name, modules(fmt.Sprintf("svc-%d", i)), resources(fmt.Sprintf("tenant-%d-*", i))))
		case i%3 == 0:
			rules = append(rules, denyRule(name, modules(fmt.Sprintf("mod-%d", i)), resources(fmt.Sprintf("store-%d", i%50)), keys("secret:*")))
		default:
			rules = append(rules, allowRule(name, modules(fmt.Sprintf("mod-%d", i)), actions("store.key.*"),
				resources(fmt.Sprintf("store-%d", i%50), "users"), keys(fmt.Sprintf("k-%d:*", i)),
				conds(cond("key", "ne", "k-0:locked"))))
		}
	}
	return rules[:n]
}

// benchRequests are decided round-robin: an allow, a deny that wins over an
// allow, a list covered by an allow, and a default deny.
var benchRequests = []Request{
	get("reader", "users", "user:42"),
	{Module: "writer", Action: ActionKeySet, Resource: "users", Key: "admin:root"},
	list("reader", "users", "user:"),
	get("nobody", "users", "user:42"),
}

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("policies=%d", n), func(b *testing.B) {
			s, err := Compile(benchRules(n))
			if err != nil {
				b.Fatal(err)
			}
			want := []bool{true, false, true, false}
			for i, r := range benchRequests {
				if got := s.Decide(r).Allowed; got != want[i] {
					b.Fatalf("Decide(%+v).Allowed = %v, want %v", r, got, want[i])
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Decide(benchRequests[i&3])
				i++
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	rules := benchRules(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(rules); err != nil {
			b.Fatal(err)
		}
	}
}
