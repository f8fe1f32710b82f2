package host

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/policy"
)

// Config is a parsed configuration file: the stores a host serves, the policies that
// decide every store action, and per-module limits. Build one with [ParseConfig] or
// [DefaultConfig]; a Config is plain data and is not modified by [New].
type Config struct {
	Stores   map[string]StoreConfig  `yaml:"stores"`
	Policies []policy.Rule           `yaml:"policies"`
	Modules  map[string]ModuleConfig `yaml:"modules"`
	// Routes and Server configure wasmkv serve (see serveconfig.go); other uses ignore them.
	Routes []RouteConfig `yaml:"routes"`
	Server ServerConfig  `yaml:"server"`
}

// StoreConfig configures one store. Zero values take the documented defaults.
type StoreConfig struct {
	// Kind is the engine: "memory" or "redis".
	Kind string `yaml:"kind"`
	// MaxSize bounds the number of keys (memory: default 10000; redis: default unlimited,
	// else enforced exactly with the store's key index).
	MaxSize int `yaml:"max_size"`
	// CleanupInterval is how often expired keys are swept (memory; default 5m).
	CleanupInterval time.Duration `yaml:"cleanup_interval"`
	// Eviction is "none" (a full store refuses new keys) or "lru" (memory).
	Eviction string `yaml:"eviction"`
	// Protect lists key globs (as in a policy's keys) that LRU eviction never removes:
	// eviction is the store's, not a module's, so keys that policies keep some modules
	// from deleting belong here. When only protected keys remain, a new key is refused
	// (Unavailable "store is full"). Only with eviction lru.
	Protect []string `yaml:"protect"`
	// MaxKeyBytes bounds a key's length (default 1024).
	MaxKeyBytes int `yaml:"max_key_bytes"`
	// MaxValueBytes bounds a value's encoded length (default 1 MiB).
	MaxValueBytes int `yaml:"max_value_bytes"`

	// Redis connection (kind redis). Address is host:port; URL (redis:// or rediss://)
	// is the alternative. PasswordEnv names an environment variable that holds the
	// password, so the file need not. KeyPrefix defaults to "wasmkv:<len(id)>:<store id>:"
	// (engine.DefaultRedisKeyPrefix); prefixes of stores on one server must not nest.
	Address      string        `yaml:"address"`
	URL          string        `yaml:"url"`
	Username     string        `yaml:"username"`
	Password     string        `yaml:"password"`
	PasswordEnv  string        `yaml:"password_env"`
	DB           int           `yaml:"db"`
	TLS          bool          `yaml:"tls"`
	KeyPrefix    string        `yaml:"key_prefix"`
	PoolSize     int           `yaml:"pool_size"`
	DialTimeout  time.Duration `yaml:"dial_timeout"`
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// OpTimeout bounds each store operation (redis; default 2s): a down server is
	// Unavailable within it.
	OpTimeout time.Duration `yaml:"op_timeout"`
}

// ModuleConfig holds one module's limits. Zero values take the defaults.
type ModuleConfig struct {
	// Timeout bounds the execution of the module's code (default 5s).
	Timeout time.Duration `yaml:"timeout"`
	// MemoryLimit bounds the instance's linear memory (default 128MiB).
	MemoryLimit ByteSize `yaml:"memory_limit"`
	// OutputLimit bounds what one run may print, per stream (default 1MiB).
	OutputLimit ByteSize `yaml:"output_limit"`
	// PoolSize bounds the idle instances kept for the module (default 4).
	PoolSize int `yaml:"pool_size"`
	// IdleTimeout is how long an idle instance is kept (default 1m).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Prewarm is how many instances New creates ahead of the first run (default 0).
	Prewarm int `yaml:"prewarm"`
	// Guest is the Lua guest that runs the module's scripts: gopher-lua (default) or
	// puc-lua.
	Guest string `yaml:"guest"`
	// Preemption is how a run past its deadline is stopped: "countdown" (the default)
	// or "exit-checks" (wazero's own checks, slower). See host/preempt.go.
	Preemption Preemption `yaml:"preemption"`
	// MaxConcurrency and MaxQueue bound the module's runs under wasmkv serve (see
	// serveconfig.go).
	MaxConcurrency int `yaml:"max_concurrency"`
	MaxQueue       int `yaml:"max_queue"`
}

// Defaults of a store's limits.
const (
	DefaultMaxSize         = 10000
	DefaultCleanupInterval = 5 * time.Minute
	DefaultMaxKeyBytes     = abi.DefaultMaxKeyBytes
	DefaultMaxValueBytes   = abi.DefaultMaxValueBytes
)

//go:embed default.yaml
var defaultConfigYAML []byte

// DefaultConfigYAML returns the embedded default configuration, as the CLI uses it when
// no --config is given.
func DefaultConfigYAML() []byte { return bytes.Clone(defaultConfigYAML) }

// DefaultConfig parses [DefaultConfigYAML].
func DefaultConfig() *Config {
	c, err := ParseConfig(defaultConfigYAML)
	if err != nil {
		panic("host: embedded default config: " + err.Error())
	}
	return c
}

// ConfigError is a configuration that cannot be used.
type ConfigError struct{ Msg string }

// Error returns the message, prefixed "host: config: ".
func (e *ConfigError) Error() string { return "host: config: " + e.Msg }

func configErrorf(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// ParseConfig parses and validates a YAML configuration. Unknown fields are errors, so
// a misspelt limit cannot silently fall back to its default. The policies are compiled
// here too: an invalid policy fails the load, never a request.
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, configErrorf("%v", err)
	}
	if err := checkNullLists(data); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkNullLists refuses a policy list written with no value ("modules:"). YAML reads it
// as absent, and an absent list means any: a policy would silently fail open.
func checkNullLists(data []byte) error {
	var raw struct {
		Policies []map[string]any `yaml:"policies"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return configErrorf("%v", err)
	}
	for i, p := range raw.Policies {
		if p == nil {
			// "- " with nothing after it: YAML reads a null entry, which would be dropped.
			return configErrorf("policies[%d] is empty: remove it, or give the policy", i)
		}
		for _, field := range []string{"modules", "actions", "resources", "keys", "conditions"} {
			if v, ok := p[field]; ok && v == nil {
				name, _ := p["name"].(string)
				return configErrorf("policy %q (policies[%d]): %s has no value; remove it to mean any, or list patterns", name, i, field)
			}
		}
	}
	return nil
}

func (c *Config) validate() error {
	for _, id := range slices.Sorted(maps.Keys(c.Stores)) {
		s := c.Stores[id]
		if id == "" {
			return configErrorf("stores: a store id is empty")
		}
		switch s.Kind {
		case "memory":
			if s.Address != "" || s.URL != "" || s.KeyPrefix != "" || s.PasswordEnv != "" {
				return configErrorf("store %q: connection settings are for kind redis", id)
			}
		case "redis":
			if s.Eviction == "lru" {
				return configErrorf("store %q: a redis store cannot evict (eviction lru); a full store refuses new keys", id)
			}
			if s.Address != "" && s.URL != "" {
				return configErrorf("store %q: give address or url, not both", id)
			}
			if s.Password != "" && s.PasswordEnv != "" {
				return configErrorf("store %q: give password or password_env, not both", id)
			}
		case "":
			return configErrorf("store %q: kind is required (memory, redis)", id)
		default:
			return configErrorf("store %q: unknown kind %q (memory, redis)", id, s.Kind)
		}
		switch s.Eviction {
		case "", "none", "lru":
		default:
			return configErrorf("store %q: unknown eviction %q (none, lru)", id, s.Eviction)
		}
		if err := s.checkProtect(id); err != nil {
			return err
		}
		if err := s.checkLimits(id); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Modules)) {
		if err := checkGuestName(c.Modules[name].Guest); err != nil {
			return configErrorf("module %q: %v", name, err)
		}
		if err := c.Modules[name].checkLimits(name); err != nil {
			return err
		}
		if err := c.Modules[name].Preemption.validate(); err != nil {
			return configErrorf("module %q: %v", name, err)
		}
	}
	if err := c.checkRedisPrefixes(); err != nil {
		return err
	}
	if _, err := policy.Compile(c.Policies); err != nil {
		return configErrorf("%v", err)
	}
	return nil
}
