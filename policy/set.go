package policy

import (
	"fmt"
	"regexp"
	"strings"
)

// Set is an immutable compiled policy set, safe for concurrent use. The
// zero value and a nil *Set deny everything.
type Set struct {
	n     int
	index [numKnownActions]actionIndex
}

// rule is a compiled Rule. Pattern lists are nil for "any".
type rule struct {
	order     int // position in the input; ties between matches go to the lowest
	name      string
	deny      bool
	modules   []pattern
	resources []pattern
	keys      []pattern
	conds     []condition
}

// The index narrows a request to the rules that can possibly match it:
// per action, the rules naming the request's store id exactly plus those
// with a store glob, and within each of those, the rules naming the module
// exactly plus those with a module glob. Every candidate is still matched in
// full, so the index only ever skips work, never decides.
type actionIndex struct {
	byResource  map[string]*group
	anyResource group
}

type group struct {
	byModule  map[string]*leaf
	anyModule leaf
}

// leaf keeps denies and allows apart, each in rule order, so that a deny can
// be looked for first and the scan of a list can stop at its first match.
type leaf struct {
	deny, allow []*rule
}

func (l *leaf) add(ru *rule) {
	list := &l.allow
	if ru.deny {
		list = &l.deny
	}
	// Rules are added in order, so a rule listed twice under the same leaf
	// (resources: ["a*", "b*"]) is always the last one.
	if n := len(*list); n > 0 && (*list)[n-1] == ru {
		return
	}
	*list = append(*list, ru)
}

func (g *group) add(ru *rule) {
	if ru.modules == nil {
		g.anyModule.add(ru)
		return
	}
	for i := range ru.modules {
		p := &ru.modules[i]
		if !p.exact() {
			g.anyModule.add(ru)
			continue
		}
		if g.byModule == nil {
			g.byModule = make(map[string]*leaf)
		}
		l := g.byModule[p.parts[0]]
		if l == nil {
			l = new(leaf)
			g.byModule[p.parts[0]] = l
		}
		l.add(ru)
	}
}

func (ix *actionIndex) add(ru *rule) {
	if ru.resources == nil {
		ix.anyResource.add(ru)
		return
	}
	for i := range ru.resources {
		p := &ru.resources[i]
		if !p.exact() {
			ix.anyResource.add(ru)
			continue
		}
		if ix.byResource == nil {
			ix.byResource = make(map[string]*group)
		}
		g := ix.byResource[p.parts[0]]
		if g == nil {
			g = new(group)
			ix.byResource[p.parts[0]] = g
		}
		g.add(ru)
	}
}

// Compile checks every rule and builds the indexed Set. It is the only
// place a policy can fail: whatever it accepts, Decide evaluates without
// error. On failure it returns a *CompileError for the first bad policy.
func Compile(rules []Rule) (*Set, error) {
	s := &Set{n: len(rules)}
	names := make(map[string]int, len(rules))
	for i := range rules {
		ru, actions, err := compileRule(i, &rules[i], names)
		if err != nil {
			return nil, err
		}
		for a, on := range actions {
			if on {
				s.index[a].add(ru)
			}
		}
	}
	return s, nil
}

func compileRule(i int, in *Rule, names map[string]int) (*rule, [numKnownActions]bool, error) {
	var actions [numKnownActions]bool
	fail := func(field, format string, args ...any) (*rule, [numKnownActions]bool, error) {
		return nil, actions, &CompileError{Index: i, Policy: in.Name, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if in.Name == "" {
		return fail("name", "a policy needs a non-empty name")
	}
	if j, dup := names[in.Name]; dup {
		return fail("name", "duplicate name, already used by policies[%d]", j)
	}
	names[in.Name] = i

	ru := &rule{order: i, name: in.Name}
	switch in.Effect {
	case Allow:
	case Deny:
		ru.deny = true
	default:
		return fail("effect", "must be %q or %q, not %q", Allow, Deny, in.Effect)
	}

	// Action patterns only serve to pick the index entries, so they are not
	// kept on the rule.
	var acts []pattern
	for _, l := range []struct {
		name string
		in   []string
		out  *[]pattern
	}{
		{"modules", in.Modules, &ru.modules},
		{"actions", in.Actions, &acts},
		{"resources", in.Resources, &ru.resources},
		{"keys", in.Keys, &ru.keys},
	} {
		var where, reason string
		*l.out, where, reason = compileList(l.in)
		if reason != "" {
			return fail(l.name+where, "%s", reason)
		}
	}
	for a, name := range knownActions {
		actions[a] = acts == nil || matchAny(acts, name)
	}
	for j := range acts {
		if !matchesKnownAction(&acts[j]) {
			return fail(fmt.Sprintf("actions[%d]", j), "%q is not a known action and matches none (known: %s)",
				in.Actions[j], strings.Join(knownActions[:], ", "))
		}
	}

	if len(in.Conditions) > 0 {
		ru.conds = make([]condition, len(in.Conditions))
	}
	for j, c := range in.Conditions {
		field, reason := compileCondition(&ru.conds[j], c)
		if reason != "" {
			return fail(fmt.Sprintf("conditions[%d].%s", j, field), "%s", reason)
		}
	}
	return ru, actions, nil
}

func matchesKnownAction(p *pattern) bool {
	for _, name := range knownActions {
		if p.match(name) {
			return true
		}
	}
	return false
}

// compileList returns nil for an absent list, or says where in the list
// (an index suffix, or "" for the list itself) and why it is invalid.
func compileList(in []string) ([]pattern, string, string) {
	if in == nil {
		return nil, "", ""
	}
	if len(in) == 0 {
		return nil, "", "an explicitly empty list is ambiguous and rejected; omit the field to mean any"
	}
	out := make([]pattern, len(in))
	for j, s := range in {
		if s == "" {
			return nil, fmt.Sprintf("[%d]", j), "empty pattern; use \"*\" to mean any"
		}
		out[j] = compilePattern(s)
	}
	return out, "", ""
}

// compileCondition fills out from in, or returns the sub-field that is
// wrong and why.
func compileCondition(out *condition, in Condition) (string, string) {
	f, ok := fieldNames[in.Field]
	if !ok {
		return "field", fmt.Sprintf("unknown field %q (known: module, action, resource, key, prefix)", in.Field)
	}
	op, ok := operatorNames[in.Operator]
	if !ok {
		return "operator", fmt.Sprintf("unknown operator %q (known: eq, ne, in, nin, prefix, suffix, contains, matches)", in.Operator)
	}
	out.field, out.op = f, op
	if op == opIn || op == opNin {
		list, reason := stringList(in.Value)
		if reason != "" {
			return "value", fmt.Sprintf("operator %s needs a non-empty list of strings: %s", in.Operator, reason)
		}
		out.list = list
		return "", ""
	}
	s, ok := in.Value.(string)
	if !ok {
		return "value", fmt.Sprintf("operator %s needs a string, got %s", in.Operator, describe(in.Value))
	}
	out.str = s
	if op == opMatches {
		re, err := regexp.Compile(s)
		if err != nil {
			return "value", fmt.Sprintf("invalid RE2 regular expression: %v", err)
		}
		out.re = re
	}
	return "", ""
}

// stringList accepts what YAML and JSON decoders produce for a list of
// strings, and says what is wrong with anything else.
func stringList(v any) ([]string, string) {
	var out []string
	switch v := v.(type) {
	case []string:
		out = append([]string(nil), v...)
	case []any:
		out = make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Sprintf("element %d is %s", i, describe(e))
			}
			out[i] = s
		}
	default:
		return nil, "got " + describe(v)
	}
	if len(out) == 0 {
		return nil, "the list is empty"
	}
	return out, ""
}

func describe(v any) string {
	if v == nil {
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}

// Len returns the number of policies in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Decide returns the decision for r. It cannot fail: every input, including
// an unknown action, yields a decision, and anything not explicitly allowed
// is denied.
func (s *Set) Decide(r Request) Decision {
	if s == nil {
		return Decision{}
	}
	a := actionID(r.Action)
	if a < 0 {
		return Decision{}
	}
	kind := knownActionKinds[a]
	ix := &s.index[a]

	var buf [4]*leaf
	leaves := buf[:0]
	if g := ix.byResource[r.Resource]; g != nil {
		if l := g.byModule[r.Module]; l != nil {
			leaves = append(leaves, l)
		}
		leaves = append(leaves, &g.anyModule)
	}
	if l := ix.anyResource.byModule[r.Module]; l != nil {
		leaves = append(leaves, l)
	}
	leaves = append(leaves, &ix.anyResource.anyModule)

	if ru := firstMatch(leaves, true, kind, &r); ru != nil {
		return Decision{Policy: ru.name}
	}
	if ru := firstMatch(leaves, false, kind, &r); ru != nil {
		return Decision{Allowed: true, Policy: ru.name}
	}
	return Decision{}
}

// firstMatch returns the matching rule of the given effect that comes first
// in rule order, so the reported name does not depend on the index layout.
func firstMatch(leaves []*leaf, deny bool, kind actionKind, r *Request) *rule {
	var best *rule
	for _, l := range leaves {
		list := l.allow
		if deny {
			list = l.deny
		}
		for _, ru := range list {
			if best != nil && ru.order >= best.order {
				break
			}
			if ru.matches(kind, r) {
				best = ru
				break
			}
		}
	}
	return best
}

func (ru *rule) matches(kind actionKind, r *Request) bool {
	if ru.modules != nil && !matchAny(ru.modules, r.Module) {
		return false
	}
	if ru.resources != nil && !matchAny(ru.resources, r.Resource) {
		return false
	}
	if ru.keys != nil && !ru.keysMatch(kind, r) {
		return false
	}
	for i := range ru.conds {
		if !ru.condHolds(&ru.conds[i], kind, r) {
			return false
		}
	}
	return true
}

func (ru *rule) keysMatch(kind actionKind, r *Request) bool {
	switch kind {
	case kindKey:
		return matchAny(ru.keys, r.Key)
	case kindList:
		for i := range ru.keys {
			p := &ru.keys[i]
			if ru.deny && p.mayMatchPrefix(r.Prefix) || !ru.deny && p.coversPrefix(r.Prefix) {
				return true
			}
		}
		return false
	}
	// store.get and store.info carry no key: keys do not constrain them.
	return true
}

func (ru *rule) condHolds(c *condition, kind actionKind, r *Request) bool {
	switch c.field {
	case fieldModule:
		return c.test(r.Module)
	case fieldAction:
		return c.test(r.Action)
	case fieldResource:
		return c.test(r.Resource)
	case fieldKey:
		switch kind {
		case kindKey:
			return c.test(r.Key)
		case kindList:
			if ru.deny {
				return c.holdsForSomeUnder(r.Prefix)
			}
			return c.holdsForAllUnder(r.Prefix)
		}
		// Like keys, a key condition does not constrain store.get and
		// store.info.
		return true
	case fieldPrefix:
		if kind == kindList {
			return c.test(r.Prefix)
		}
	}
	// The attribute is absent, so the condition's truth is unknown: it
	// cannot grant, and it is assumed to hold for a deny.
	return ru.deny
}
