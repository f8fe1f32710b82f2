package host

import (
	"maps"
	"slices"

	"github.com/wasmkv/wasmkv/engine"
)

// checkRedisPrefixes refuses two redis stores on one server (address or url, and db)
// whose key prefixes nest: either store could then read and write the other's keys,
// whatever the policies allow. Default prefixes never nest (engine.DefaultRedisKeyPrefix),
// but an explicit key_prefix can nest with another store's default, so all are compared.
// A server reached under two names (localhost and 127.0.0.1) is not recognised as one.
func (c *Config) checkRedisPrefixes() error {
	type store struct{ id, server, prefix string }
	var seen []store
	for _, id := range slices.Sorted(maps.Keys(c.Stores)) {
		sc := c.Stores[id]
		if sc.Kind != "redis" {
			continue
		}
		server, err := engine.RedisServer(engine.RedisOptions{Address: sc.Address, URL: sc.URL, DB: sc.DB})
		if err != nil {
			return configErrorf("store %q: %v", id, err)
		}
		prefix := sc.KeyPrefix
		if prefix == "" {
			prefix = engine.DefaultRedisKeyPrefix(id)
		}
		for _, o := range seen {
			if o.server == server && engine.PrefixesOverlap(o.prefix, prefix) {
				return configErrorf("stores %q and %q: key prefixes %q and %q on server %s nest, so each store could reach the other's keys; give prefixes where neither starts with the other",
					o.id, id, o.prefix, prefix, server)
			}
		}
		seen = append(seen, store{id, server, prefix})
	}
	return nil
}
