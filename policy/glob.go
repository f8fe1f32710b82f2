package policy

// GlobMatcher compiles key globs with the syntax of a policy's keys ('*' matches any
// run of bytes, nothing else is special) into one matcher, for other settings that
// name keys the same way, such as a store's protected keys.
func GlobMatcher(globs []string) func(key string) bool {
	ps := make([]pattern, len(globs))
	for i, g := range globs {
		ps[i] = compilePattern(g)
	}
	return func(key string) bool { return matchAny(ps, key) }
}
