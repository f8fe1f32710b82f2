package policy

import "testing"

func TestGlobMatcher(t *testing.T) {
	m := GlobMatcher([]string{"admin:*", "exact", "*:lock:*"})
	for key, want := range map[string]bool{
		"admin:config": true, "admin:": true, "admin": false, "exact": true, "exactly": false,
		"a:lock:b": true, "lock": false, "web:x": false,
	} {
		if got := m(key); got != want {
			t.Errorf("%q: got %v", key, got)
		}
	}
	if GlobMatcher(nil)("x") {
		t.Error("no globs matched a key")
	}
}
