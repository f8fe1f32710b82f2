package policy

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var (
	diffSeed  = flag.Uint64("policy.seed", 20260601, "seed of TestDifferential")
	diffCases = flag.Int("policy.cases", 120_000, "requests decided by TestDifferential")
)

// gen draws rules and requests from a tiny alphabet, so that patterns,
// values and request strings collide often and every branch is reached.
type gen struct{ r *rand.Rand }

func (g gen) str(maxLen int) string {
	const alphabet = "ab:"
	n := g.r.IntN(maxLen + 1)
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[g.r.IntN(len(alphabet))])
	}
	return b.String()
}

func (g gen) pattern() string {
	const alphabet = "ab:**"
	n := 1 + g.r.IntN(5)
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[g.r.IntN(len(alphabet))])
	}
	return b.String()
}

var genActionPatterns = []string{
	"*", "store.*", "store.key.*", "*.get", "store.*.get", "*list", "s*e*t",
	ActionStoreGet, ActionStoreInfo, ActionKeyGet, ActionKeySet, ActionKeyDelete, ActionKeyHas, ActionKeyList,
}

var genRequestActions = append(knownActions[:], "store.key.nope", "", "*")

var genRegexps = []string{"", "^a", "b$", "a:b", "^(a|b)*$", "::", "^$", "[ab]{3}"}

var genFields = []string{"module", "action", "resource", "key", "key", "prefix"}

var genOperators = []string{"eq", "ne", "in", "nin", "prefix", "suffix", "contains", "matches"}

func (g gen) patterns(draw func() string) []string {
	if g.r.IntN(2) == 0 {
		return nil
	}
	out := make([]string, 1+g.r.IntN(3))
	for i := range out {
		out[i] = draw()
	}
	return out
}

func (g gen) condition() Condition {
	c := Condition{Field: genFields[g.r.IntN(len(genFields))], Operator: genOperators[g.r.IntN(len(genOperators))]}
	switch c.Operator {
	case "in", "nin":
		vals := make([]any, 1+g.r.IntN(3))
		for i := range vals {
			vals[i] = g.str(4)
		}
		c.Value = vals
	case "matches":
		c.Value = genRegexps[g.r.IntN(len(genRegexps))]
	default:
		if c.Field == "action" && g.r.IntN(2) == 0 {
			c.Value = knownActions[g.r.IntN(len(knownActions))]
		} else {
			c.Value = g.str(3)
		}
	}
	return c
}

func (g gen) rules(n int) []Rule {
	rules := make([]Rule, n)
	for i := range rules {
		ru := &rules[i]
		ru.Name = fmt.Sprintf("p%d", i)
		ru.Effect = Allow
		if g.r.IntN(5) < 2 {
			ru.Effect = Deny
		}
		ru.Modules = g.patterns(g.pattern)
		ru.Actions = g.patterns(func() string { return genActionPatterns[g.r.IntN(len(genActionPatterns))] })
		ru.Resources = g.patterns(g.pattern)
		ru.Keys = g.patterns(g.pattern)
		if g.r.IntN(3) == 0 {
			ru.Conditions = make([]Condition, 1+g.r.IntN(2))
			for j := range ru.Conditions {
				ru.Conditions[j] = g.condition()
			}
		}
	}
	return rules
}

func (g gen) request() Request {
	return Request{
		Module:   g.str(4),
		Action:   genRequestActions[g.r.IntN(len(genRequestActions))],
		Resource: g.str(4),
		Key:      g.str(5),
		Prefix:   g.str(4),
	}
}

// TestDifferential compares the indexed engine with the naive reference
// evaluator on random policy sets. It runs in shards so that it stays fast
// under -race; each shard's generator is seeded from the seed and the shard
// number, both printed on failure. Rerun one with -policy.seed and
// -run 'TestDifferential/shard=N'.
func TestDifferential(t *testing.T) {
	const shards = 4
	seed := *diffSeed
	start := time.Now()
	var counts [shards][3]int
	t.Run("group", func(t *testing.T) {
		for shard := range shards {
			t.Run(fmt.Sprintf("shard=%d", shard), func(t *testing.T) {
				t.Parallel()
				counts[shard] = differentialShard(t, seed, uint64(shard), *diffCases/shards)
			})
		}
	})
	var total [3]int
	for _, c := range counts {
		for i := range c {
			total[i] += c[i]
		}
	}
	t.Logf("seed %d: %d allowed, %d denied by a policy, %d denied by default, in %v",
		seed, total[0], total[1], total[2], time.Since(start))
	// A generator that only ever produced one outcome would prove nothing.
	for i, name := range []string{"allowed", "denied by a policy", "denied by default"} {
		if total[i] < *diffCases/20 {
			t.Errorf("seed %d: only %d of %d decisions were %s; the generator is too narrow", seed, total[i], *diffCases, name)
		}
	}
}

// differentialShard returns how many requests were allowed, denied by a
// policy and denied by default.
func differentialShard(t *testing.T, seed, shard uint64, cases int) [3]int {
	const perSet = 40
	g := gen{rand.New(rand.NewPCG(seed, shard))}
	var counts [3]int
	for c := 0; c < cases; c += perSet {
		rules := g.rules(1 + g.r.IntN(10))
		s, err := Compile(rules)
		if err != nil {
			t.Fatalf("seed %d, shard %d, case %d: generated rules do not compile: %v\nrules: %#v", seed, shard, c, err, rules)
		}
		for i := range perSet {
			req := g.request()
			got, want := s.Decide(req), refDecide(rules, req)
			if got != want {
				t.Fatalf("seed %d, shard %d, case %d: Decide = %+v, reference = %+v\nrequest: %#v\nrules: %#v",
					seed, shard, c+i, got, want, req, rules)
			}
			switch {
			case got.Allowed:
				counts[0]++
			case got.Policy != "":
				counts[1]++
			default:
				counts[2]++
			}
		}
	}
	return counts
}
