package policy

import (
	"regexp"
	"slices"
	"strings"
)

type field uint8

const (
	fieldModule field = iota
	fieldAction
	fieldResource
	fieldKey
	fieldPrefix
)

var fieldNames = map[string]field{
	"module":   fieldModule,
	"action":   fieldAction,
	"resource": fieldResource,
	"key":      fieldKey,
	"prefix":   fieldPrefix,
}

type operator uint8

const (
	opEq operator = iota
	opNe
	opIn
	opNin
	opPrefix
	opSuffix
	opContains
	opMatches
)

var operatorNames = map[string]operator{
	"eq":       opEq,
	"ne":       opNe,
	"in":       opIn,
	"nin":      opNin,
	"prefix":   opPrefix,
	"suffix":   opSuffix,
	"contains": opContains,
	"matches":  opMatches,
}

// condition is a Condition with its value checked and converted once, so
// that evaluating it can neither fail nor allocate.
type condition struct {
	field field
	op    operator
	str   string         // the operand of every operator but in and nin
	list  []string       // the operand of in and nin
	re    *regexp.Regexp // the operand of matches
}

// test evaluates the condition on an attribute that is present.
func (c *condition) test(s string) bool {
	switch c.op {
	case opEq:
		return s == c.str
	case opNe:
		return s != c.str
	case opIn:
		return slices.Contains(c.list, s)
	case opNin:
		return !slices.Contains(c.list, s)
	case opPrefix:
		return strings.HasPrefix(s, c.str)
	case opSuffix:
		return strings.HasSuffix(s, c.str)
	case opContains:
		return strings.Contains(s, c.str)
	case opMatches:
		return c.re.MatchString(s)
	}
	return false
}

// holdsForAllUnder reports whether the condition holds for every key that
// starts with prefix, prefix itself included. An allow on store.key.list
// must vouch for every key the listing could return, so when this cannot
// be shown cheaply and exactly the answer is false.
func (c *condition) holdsForAllUnder(prefix string) bool {
	switch c.op {
	case opEq, opIn:
		// Finitely many values cannot cover infinitely many keys.
		return false
	case opNe:
		return !strings.HasPrefix(c.str, prefix)
	case opNin:
		for _, v := range c.list {
			if strings.HasPrefix(v, prefix) {
				return false
			}
		}
		return true
	case opPrefix:
		return strings.HasPrefix(prefix, c.str)
	case opSuffix:
		return c.str == ""
	case opContains:
		return strings.Contains(prefix, c.str)
	}
	// matches: whether a regexp accepts every extension of a string is not
	// something RE2 answers, so the allow does not vouch for the listing.
	return false
}

// holdsForSomeUnder reports whether the condition may hold for at least one
// key that starts with prefix. A deny on store.key.list must fire if any key
// it protects could be listed, so when in doubt the answer is true.
func (c *condition) holdsForSomeUnder(prefix string) bool {
	switch c.op {
	case opEq:
		return strings.HasPrefix(c.str, prefix)
	case opIn:
		for _, v := range c.list {
			if strings.HasPrefix(v, prefix) {
				return true
			}
		}
		return false
	case opPrefix:
		return strings.HasPrefix(prefix, c.str) || strings.HasPrefix(c.str, prefix)
	}
	// ne, nin, suffix and contains: some key under any prefix satisfies
	// them (prefix+value, or prefix plus a byte no value has). matches:
	// not decidable cheaply, so the deny is assumed to apply.
	return true
}
