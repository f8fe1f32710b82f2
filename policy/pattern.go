package policy

import "strings"

// pattern is a compiled glob. Only '*' is special, so a glob is a list of
// literal runs and the matcher needs no backtracking: anchoring the first
// and last run and taking the leftmost occurrence of every run in between is
// exact for '*'-only globs, and it never allocates.
type pattern struct {
	// parts are the literal runs between stars, with runs of stars folded
	// into one. A single part means the pattern has no star at all.
	parts []string
}

func compilePattern(s string) pattern {
	raw := strings.Split(s, "*")
	if len(raw) == 1 {
		return pattern{parts: raw}
	}
	// "a**b" splits into "a", "", "b": an empty interior run is a doubled
	// star and adds nothing. The outer runs stay even when empty, because
	// they carry the anchoring.
	parts := make([]string, 0, len(raw))
	parts = append(parts, raw[0])
	for _, p := range raw[1 : len(raw)-1] {
		if p != "" {
			parts = append(parts, p)
		}
	}
	parts = append(parts, raw[len(raw)-1])
	return pattern{parts: parts}
}

// exact reports whether the pattern has no star, which lets the index file
// it under a map key.
func (p *pattern) exact() bool { return len(p.parts) == 1 }

func (p *pattern) match(s string) bool {
	n := len(p.parts)
	if n == 1 {
		return s == p.parts[0]
	}
	first, last := p.parts[0], p.parts[n-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	mid := s[len(first) : len(s)-len(last)]
	for _, part := range p.parts[1 : n-1] {
		i := strings.Index(mid, part)
		if i < 0 {
			return false
		}
		mid = mid[i+len(part):]
	}
	return true
}

// coversPrefix reports whether the pattern matches every string that starts
// with prefix. The set is infinite, so a pattern without a trailing star
// can never cover it; one with a trailing star covers it exactly when it
// matches prefix itself, since the star absorbs whatever follows.
func (p *pattern) coversPrefix(prefix string) bool {
	n := len(p.parts)
	return n > 1 && p.parts[n-1] == "" && p.match(prefix)
}

// mayMatchPrefix reports whether the pattern matches at least one string
// that starts with prefix. Past its first star a glob can absorb any text,
// so only the literal run before the first star can rule a prefix out.
func (p *pattern) mayMatchPrefix(prefix string) bool {
	head := p.parts[0]
	if strings.HasPrefix(head, prefix) {
		return true
	}
	return len(p.parts) > 1 && strings.HasPrefix(prefix, head)
}

func matchAny(ps []pattern, s string) bool {
	for i := range ps {
		if ps[i].match(s) {
			return true
		}
	}
	return false
}
