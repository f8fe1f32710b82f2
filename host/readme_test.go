package host_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMEGoSnippets: every Go snippet of README.md is part of an example in
// example_test.go, line for line (indentation and blank lines aside), so each compiles
// and runs as written.
func TestREADMEGoSnippets(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	examples, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	code := "\n" + strings.Join(significantLines(string(examples)), "\n") + "\n"
	snippets := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, snippets)
	for _, m := range snippets {
		lines := significantLines(m[1])
		assert.Contains(t, code, "\n"+strings.Join(lines, "\n")+"\n", "README snippet not in example_test.go:\n%s", m[1])
	}
}

func significantLines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
