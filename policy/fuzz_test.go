package policy

import (
	"errors"
	"strings"
	"testing"
)

// parseFuzzRules turns fuzz text into rules, so that the fuzzer explores
// the structure of a policy and not just one string. Each line is one rule:
//
//	name|effect|modules|actions|resources|keys|conditions
//
// A list is comma-separated; "~" is an absent list, and an empty field an
// explicitly empty one. Conditions, absent when empty or "~", are separated
// by ';', each being "field operator value". A value starting with '@' is a []any of the
// comma-separated strings after it, '&' the same as a []string, '#' a
// number, '!' nil, '%' a []any holding a number; any other value is the
// string itself. Missing trailing fields are absent.
func parseFuzzRules(spec string) []Rule {
	var rules []Rule
	for line := range strings.SplitSeq(spec, "\n") {
		f := strings.Split(line, "|")
		at := func(i int) (string, bool) {
			if i < len(f) {
				return f[i], true
			}
			return "", false
		}
		list := func(i int) []string {
			s, ok := at(i)
			if !ok || s == "~" {
				return nil
			}
			if s == "" {
				return []string{}
			}
			return strings.Split(s, ",")
		}
		var ru Rule
		ru.Name, _ = at(0)
		e, _ := at(1)
		ru.Effect = Effect(e)
		ru.Modules, ru.Actions, ru.Resources, ru.Keys = list(2), list(3), list(4), list(5)
		if cs, ok := at(6); ok && cs != "" && cs != "~" {
			for c := range strings.SplitSeq(cs, ";") {
				parts := strings.SplitN(c, " ", 3)
				for len(parts) < 3 {
					parts = append(parts, "")
				}
				ru.Conditions = append(ru.Conditions, Condition{Field: parts[0], Operator: parts[1], Value: fuzzValue(parts[2])})
			}
		}
		rules = append(rules, ru)
	}
	return rules
}

func fuzzValue(s string) any {
	if s == "" {
		return s
	}
	switch s[0] {
	case '@':
		var out []any
		for v := range strings.SplitSeq(s[1:], ",") {
			out = append(out, v)
		}
		return out
	case '&':
		return strings.Split(s[1:], ",")
	case '#':
		return len(s)
	case '!':
		return nil
	case '%':
		return []any{"x", len(s)}
	}
	return s
}

var fuzzSpecs = []string{
	"reader|allow|reader|store.get,store.key.get,store.key.list|users|user:*|~\nwriter|allow|writer|*|users|~\nno-admin|deny|writer|store.key.*|~|admin:*",
	"a|allow|~|~|~|~|key prefix user:;module ne web.bad;action in @store.key.get,store.key.list",
	"d|deny|web.*|store.*.get|tenant-*|t:*:k:*|resource nin &tenant-x,tenant-y;key matches ^t:[0-9]+",
	"a|allow|~|~|~|~|prefix eq user:\nd|deny|~|~|~|~|key suffix :secret",
	"a|allow||~|~|~",
	"a|allow|~|store.key.gte|~|~",
	"a|allow|~|~|~|~|key matches (",
	"a|permit",
	"|allow",
	"a|allow\na|deny",
	"a|allow|~|~|~|~|key eq #1",
	"a|allow|~|~|~|~|key in %",
	"a|allow|m,|~|~|~",
}

// FuzzCompile checks that the loader never panics and that every rejection
// is a *CompileError naming a policy and a field; whatever it accepts must
// then be decidable.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSpecs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		rules := parseFuzzRules(spec)
		s, err := Compile(rules)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile returned %T, want *CompileError: %v", err, err)
			}
			msg := err.Error()
			if s != nil || !strings.HasPrefix(msg, "policy: ") || ce.Field == "" || ce.Reason == "" ||
				ce.Index < 0 || ce.Index >= len(rules) || ce.Policy != rules[ce.Index].Name {
				t.Fatalf("malformed error %#v: %q", ce, msg)
			}
			return
		}
		if s.Len() != len(rules) {
			t.Fatalf("Len = %d, want %d", s.Len(), len(rules))
		}
		for _, a := range knownActions {
			s.Decide(Request{Module: "m", Action: a, Resource: "s", Key: "k", Prefix: "p"})
		}
	})
}

// FuzzDecide checks that Decide never panics and agrees with the reference
// evaluator on any rules that compile.
func FuzzDecide(f *testing.F) {
	for _, s := range fuzzSpecs {
		f.Add(s, "writer", ActionKeyList, "users", "admin:1", "ad")
		f.Add(s, "reader", ActionKeyGet, "users", "user:1", "user:")
	}
	f.Fuzz(func(t *testing.T, spec, module, action, resource, key, prefix string) {
		// The reference needs one byte that no input contains; see fresh.
		clean := func(s string) string { return strings.ReplaceAll(s, fresh, "") }
		spec, module, action, resource, key, prefix = clean(spec), clean(module), clean(action), clean(resource), clean(key), clean(prefix)
		rules := parseFuzzRules(spec)
		s, err := Compile(rules)
		if err != nil {
			return
		}
		for _, r := range []Request{
			{Module: module, Action: action, Resource: resource, Key: key, Prefix: prefix},
			{Module: module, Action: ActionKeyList, Resource: resource, Key: key, Prefix: prefix},
		} {
			got, want := s.Decide(r), refDecide(rules, r)
			if got != want {
				t.Fatalf("Decide = %+v, reference = %+v\nrequest: %#v\nrules: %#v", got, want, r, rules)
			}
		}
	})
}

// The seeds are only useful if they reach both outcomes of Compile.
func TestFuzzSpecsParse(t *testing.T) {
	for i, spec := range fuzzSpecs {
		_, err := Compile(parseFuzzRules(spec))
		if wantOK := i < 4; (err == nil) != wantOK {
			t.Errorf("fuzzSpecs[%d]: Compile error = %v, want success %v", i, err, wantOK)
		}
	}
}
