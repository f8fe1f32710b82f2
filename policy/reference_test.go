package policy

import (
	"regexp"
	"strings"
	"sync"
)

// This file is a deliberately naive reference evaluator for the
// differential and fuzz tests. It shares no code with the engine: it loops
// over every rule in order, reads the raw Rule rather than the compiled one,
// matches globs with a dynamic-programming table instead of the engine's
// anchored scan, and answers the "every key under P" / "some key under P"
// questions for conditions by trying concrete witness keys instead of
// reasoning per operator.

// fresh is a byte that the generated and fuzzed inputs never contain. A key
// ending in it can only be matched by a star, and equals no configured
// value, which is what makes the witness keys below conclusive.
const fresh = "\x00"

func refKind(action string) string {
	switch action {
	case ActionStoreGet, ActionStoreInfo:
		return "store"
	case ActionKeyGet, ActionKeySet, ActionKeyDelete, ActionKeyHas:
		return "key"
	case ActionKeyList:
		return "list"
	}
	return ""
}

// refTable returns t where t[i*(len(s)+1)+j] says whether p[:i] matches
// s[:j].
func refTable(p, s string) []bool {
	w := len(s) + 1
	t := make([]bool, (len(p)+1)*w)
	t[0] = true
	for i := 1; i <= len(p); i++ {
		for j := 0; j <= len(s); j++ {
			if p[i-1] == '*' {
				t[i*w+j] = t[(i-1)*w+j] || (j > 0 && t[i*w+j-1])
			} else {
				t[i*w+j] = j > 0 && t[(i-1)*w+j-1] && p[i-1] == s[j-1]
			}
		}
	}
	return t
}

func refGlob(p, s string) bool { return refTable(p, s)[len(p)*(len(s)+1)+len(s)] }

// refCouldExtend: some string P+x matches p. That holds when some leading
// part of p matches P exactly, because every glob's rest is satisfiable.
func refCouldExtend(p, prefix string) bool {
	t := refTable(p, prefix)
	for i := 0; i <= len(p); i++ {
		if t[i*(len(prefix)+1)+len(prefix)] {
			return true
		}
	}
	return false
}

// refCovers: every P+x matches p. Matching P and P+fresh is enough: the
// fresh byte can only be eaten by a trailing star, and a trailing star that
// follows a match of P eats any x.
func refCovers(p, prefix string) bool {
	return refGlob(p, prefix) && refGlob(p, prefix+fresh)
}

func refAnyGlob(ps []string, s string) bool {
	for _, p := range ps {
		if refGlob(p, s) {
			return true
		}
	}
	return false
}

var refRegexps sync.Map

func refRegexp(s string) *regexp.Regexp {
	if re, ok := refRegexps.Load(s); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(s)
	refRegexps.Store(s, re)
	return re
}

func refValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = e.(string)
		}
		return out
	}
	panic("reference: unexpected value type")
}

func refTest(c Condition, s string) bool {
	vals := refValues(c.Value)
	switch c.Operator {
	case "eq":
		return s == vals[0]
	case "ne":
		return s != vals[0]
	case "in", "nin":
		found := false
		for _, v := range vals {
			if v == s {
				found = true
			}
		}
		return found == (c.Operator == "in")
	case "prefix":
		return strings.HasPrefix(s, vals[0])
	case "suffix":
		return strings.HasSuffix(s, vals[0])
	case "contains":
		return strings.Contains(s, vals[0])
	case "matches":
		return refRegexp(vals[0]).MatchString(s)
	}
	panic("reference: unexpected operator " + c.Operator)
}

// refWitnesses are keys under prefix that decide every operator but
// matches: prefix itself, prefix plus a byte no value has, prefix plus each
// value, and each value that already starts with prefix.
func refWitnesses(c Condition, prefix string) []string {
	w := []string{prefix, prefix + fresh}
	for _, v := range refValues(c.Value) {
		w = append(w, prefix+v)
		if strings.HasPrefix(v, prefix) {
			w = append(w, v)
		}
	}
	return w
}

func refCond(c Condition, deny bool, kind string, r Request) bool {
	switch c.Field {
	case "module":
		return refTest(c, r.Module)
	case "action":
		return refTest(c, r.Action)
	case "resource":
		return refTest(c, r.Resource)
	case "key":
		switch kind {
		case "store":
			return true
		case "key":
			return refTest(c, r.Key)
		}
		if c.Operator == "matches" {
			return deny
		}
		for _, w := range refWitnesses(c, r.Prefix) {
			if refTest(c, w) == deny {
				return deny // deny: a witness satisfies it; allow: a counterexample
			}
		}
		return !deny
	case "prefix":
		if kind == "list" {
			return refTest(c, r.Prefix)
		}
		return deny
	}
	panic("reference: unexpected field " + c.Field)
}

func refMatches(ru Rule, kind string, r Request) bool {
	deny := ru.Effect == Deny
	if ru.Actions != nil && !refAnyGlob(ru.Actions, r.Action) {
		return false
	}
	if ru.Modules != nil && !refAnyGlob(ru.Modules, r.Module) {
		return false
	}
	if ru.Resources != nil && !refAnyGlob(ru.Resources, r.Resource) {
		return false
	}
	if ru.Keys != nil {
		ok := false
		for _, p := range ru.Keys {
			switch {
			case kind == "store":
				ok = true
			case kind == "key":
				ok = ok || refGlob(p, r.Key)
			case deny:
				ok = ok || refCouldExtend(p, r.Prefix)
			default:
				ok = ok || refCovers(p, r.Prefix)
			}
		}
		if !ok {
			return false
		}
	}
	for _, c := range ru.Conditions {
		if !refCond(c, deny, kind, r) {
			return false
		}
	}
	return true
}

// refDecide assumes rules compiled without error.
func refDecide(rules []Rule, r Request) Decision {
	kind := refKind(r.Action)
	if kind == "" {
		return Decision{}
	}
	var allow *Rule
	for i := range rules {
		if !refMatches(rules[i], kind, r) {
			continue
		}
		if rules[i].Effect == Deny {
			return Decision{Policy: rules[i].Name}
		}
		if allow == nil {
			allow = &rules[i]
		}
	}
	if allow != nil {
		return Decision{Allowed: true, Policy: allow.Name}
	}
	return Decision{}
}
