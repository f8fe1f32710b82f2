package host

import (
	"fmt"
	"time"
)

// Every numeric value of a configuration, and every limit a run or a CLI flag may set,
// is checked here against one table of allowed ranges, so a flag and a config field
// with the same meaning are refused alike, and the message names the value and its range.
// Zero always means the documented default. The ranges are in README.md.

// limitRange is the allowed range of one numeric setting, besides 0 (the default).
type limitRange struct {
	min, max int64
	unit     unit
}

type unit int

const (
	count unit = iota
	duration
	size
)

func (u unit) format(v int64) string {
	switch u {
	case duration:
		return time.Duration(v).String()
	case size:
		return ByteSize(v).String()
	}
	return fmt.Sprint(v)
}

// Upper bounds chosen for what a host can hold: every pooled instance keeps its whole
// linear memory (up to 4 GiB), so a pool of thousands takes the machine down at load.
const (
	MaxPoolSize  = 64
	maxStoreKeys = 100_000_000
)

// moduleLimits are the ranges of a module's settings, by config name.
var moduleLimits = map[string]limitRange{
	"timeout":      {time.Millisecond.Nanoseconds(), (24 * time.Hour).Nanoseconds(), duration},
	"memory_limit": {minMemoryLimit, 4 << 30, size},
	"output_limit": {1, 1 << 30, size},
	"pool_size":    {1, MaxPoolSize, count},
	"prewarm":      {1, MaxPoolSize, count},
	"idle_timeout": {time.Second.Nanoseconds(), (24 * time.Hour).Nanoseconds(), duration},
}

// storeLimits are the ranges of a store's settings, by config name. A value must fit
// in one request to the host (abi.MaxRequestBytes, 16 MiB) with its key.
var storeLimits = map[string]limitRange{
	"max_size":         {1, maxStoreKeys, count},
	"max_key_bytes":    {1, 1 << 20, size},
	"max_value_bytes":  {1, 8 << 20, size},
	"cleanup_interval": {time.Second.Nanoseconds(), (24 * time.Hour).Nanoseconds(), duration},
	"pool_size":        {1, 10_000, count},
	"db":               {1, 1<<16 - 1, count},
	"dial_timeout":     {time.Millisecond.Nanoseconds(), time.Hour.Nanoseconds(), duration},
	"read_timeout":     {time.Millisecond.Nanoseconds(), time.Hour.Nanoseconds(), duration},
	"write_timeout":    {time.Millisecond.Nanoseconds(), time.Hour.Nanoseconds(), duration},
	"op_timeout":       {time.Millisecond.Nanoseconds(), time.Hour.Nanoseconds(), duration},
}

// check returns the problem with v as the setting name, or "".
func (r limitRange) check(name string, v int64) string {
	if v == 0 || (v >= r.min && v <= r.max) {
		return ""
	}
	return fmt.Sprintf("%s %s is out of range: %s to %s, or 0 for the default",
		name, r.unit.format(v), r.unit.format(r.min), r.unit.format(r.max))
}

// CheckModuleLimit checks one module setting, by its config name ("timeout",
// "memory_limit", "output_limit", ...), for limits that come from elsewhere than a
// config file, such as the CLI's flags. The error names the value and the allowed range.
func CheckModuleLimit(name string, v int64) error {
	r, ok := moduleLimits[name]
	if !ok {
		return fmt.Errorf("host: unknown module setting %q", name)
	}
	if msg := r.check(name, v); msg != "" {
		return configErrorf("%s", msg)
	}
	return nil
}

func (m ModuleConfig) checkLimits(module string) error {
	if err := checkSettings(moduleLimits, "module", module, []setting{
		{"timeout", int64(m.Timeout)}, {"memory_limit", int64(m.MemoryLimit)},
		{"output_limit", int64(m.OutputLimit)}, {"pool_size", int64(m.PoolSize)},
		{"prewarm", int64(m.Prewarm)}, {"idle_timeout", int64(m.IdleTimeout)},
	}); err != nil {
		return err
	}
	// Prewarmed instances past the pool size would be closed at once.
	if pool := orDefault(m.PoolSize, DefaultPoolSize); m.Prewarm > pool {
		return configErrorf("module %q: prewarm %d is more than pool_size %d", module, m.Prewarm, pool)
	}
	return nil
}

func (s StoreConfig) checkLimits(id string) error {
	return checkSettings(storeLimits, "store", id, []setting{
		{"max_size", int64(s.MaxSize)}, {"max_key_bytes", int64(s.MaxKeyBytes)},
		{"max_value_bytes", int64(s.MaxValueBytes)}, {"cleanup_interval", int64(s.CleanupInterval)},
		{"pool_size", int64(s.PoolSize)}, {"db", int64(s.DB)},
		{"dial_timeout", int64(s.DialTimeout)}, {"read_timeout", int64(s.ReadTimeout)},
		{"write_timeout", int64(s.WriteTimeout)}, {"op_timeout", int64(s.OpTimeout)},
	})
}

// setting is one numeric setting of a config: its config name and its value.
type setting struct {
	name string
	v    int64
}

// checkSettings checks the settings of one module or store (kind and id, for the
// message) against the table of their ranges.
func checkSettings(table map[string]limitRange, kind, id string, settings []setting) error {
	for _, f := range settings {
		if msg := table[f.name].check(f.name, f.v); msg != "" {
			return configErrorf("%s %q: %s", kind, id, msg)
		}
	}
	return nil
}

// checkLimits checks the limits a script sets for its run, as a config's would be.
func (s *Script) checkLimits() error {
	m := ModuleConfig{Timeout: s.Timeout, MemoryLimit: s.MemoryLimit, OutputLimit: s.OutputLimit}
	return m.checkLimits(s.Module)
}

// orDefault returns v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// checkProtect refuses protect patterns that would do nothing: without LRU eviction no
// key is ever evicted, and an empty glob matches only the empty key, which is invalid.
func (s StoreConfig) checkProtect(id string) error {
	if len(s.Protect) == 0 {
		return nil
	}
	if s.Eviction != "lru" {
		return configErrorf("store %q: protect is for eviction lru: without eviction no key is removed", id)
	}
	for i, g := range s.Protect {
		if g == "" {
			return configErrorf("store %q: protect[%d] is empty", id, i)
		}
	}
	return nil
}
