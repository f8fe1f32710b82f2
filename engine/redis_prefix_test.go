package engine

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDefaultRedisKeyPrefixNeverOverlap: ids that the old "wasmkv:<id>:" scheme nested
// (a store "app" and a store "app:k:vault", whose data keys became the first store's
// key "vault:k:...") get prefixes no Redis key can start with both of.
func TestDefaultRedisKeyPrefixNeverOverlap(t *testing.T) {
	pairs := [][2]string{
		{"app", "app:k:vault"}, {"app", "app:"}, {"a", "a:i"}, {"1", "1:1"},
		{"x", "1:x"}, {"ab", "a"}, {"", ":"}, {"app", "app\x00"},
		{strings.Repeat("9", 10), strings.Repeat("9", 100)},
	}
	for _, p := range pairs {
		a, b := DefaultRedisKeyPrefix(p[0]), DefaultRedisKeyPrefix(p[1])
		assert.False(t, PrefixesOverlap(a, b), "%q and %q", a, b)
	}
	// The old scheme's shape, for the record: it did nest.
	assert.True(t, PrefixesOverlap("wasmkv:app:"+"k:", "wasmkv:app:k:vault:"))
	assert.Equal(t, "wasmkv:3:app:", DefaultRedisKeyPrefix("app"))
}

// FuzzDefaultRedisKeyPrefix checks the doc comment's proof over arbitrary id pairs: two
// different ids never have overlapping prefixes, and every key the engine makes for a
// store (data, index, expiry, counter) starts with its own prefix only.
func FuzzDefaultRedisKeyPrefix(f *testing.F) {
	f.Add("app", "app:k:vault", "vault:k:password")
	f.Add("a", "a:1", "i")
	f.Add("12", "1", "2:12:")
	f.Add("", "0", "")
	f.Fuzz(func(t *testing.T, a, b, key string) {
		if a == b {
			return
		}
		pa, pb := DefaultRedisKeyPrefix(a), DefaultRedisKeyPrefix(b)
		if PrefixesOverlap(pa, pb) {
			t.Fatalf("prefixes of %q and %q overlap: %q, %q", a, b, pa, pb)
		}
		for _, k := range []string{pa + "k:" + key, pa + "i", pa + "e", pa + "v"} {
			if strings.HasPrefix(k, pb) {
				t.Fatalf("key %q of store %q is in store %q's key space", k, a, b)
			}
		}
	})
}

func TestRedisServerNamesAddressAndDB(t *testing.T) {
	for _, c := range []struct {
		opts RedisOptions
		want string
	}{
		{RedisOptions{}, "127.0.0.1:6379/0"},
		{RedisOptions{Address: "127.0.0.1:6379", DB: 2}, "127.0.0.1:6379/2"},
		{RedisOptions{URL: "redis://127.0.0.1:6379/3"}, "127.0.0.1:6379/3"},
		{RedisOptions{URL: "redis://127.0.0.1:6379/3", DB: 4}, "127.0.0.1:6379/4"},
	} {
		got, err := RedisServer(c.opts)
		assert.NoError(t, err)
		assert.Equal(t, c.want, got, "%+v", c.opts)
	}
	_, err := RedisServer(RedisOptions{URL: "http://x"})
	assert.Error(t, err)
}
