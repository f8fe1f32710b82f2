package host_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// kindAndMessage is how the rule tests compare a Go error with a script's.
func kindAndMessage(t *testing.T, err error) string {
	t.Helper()
	var e *host.Error
	require.ErrorAs(t, err, &e)
	return fmt.Sprintf("%s|%t|%s", e.Kind, e.Retryable, e.Message)
}

// TestGoStoreRulesMatchLua: the Go Store refuses what a script's store refuses, with the
// same kind, retryable flag and message. Each case sets up the store from Go, runs the
// operation in Lua, then in Go.
func TestGoStoreRulesMatchLua(t *testing.T) {
	h := newHost(t, testConfig)
	ctx := context.Background()
	small, _ := h.Store("app:small") // max_key_bytes 8, max_value_bytes 64, max_size 2
	var v any
	cases := []struct {
		name  string
		setup func()
		lua   string
		goErr func() error
		kind  abi.Kind
	}{
		{"empty key", nil, `c:get("")`,
			func() error { _, err := small.Get(ctx, "", &v); return err }, abi.Invalid},
		{"long key", nil, `c:has("123456789")`,
			func() error { _, err := small.Has(ctx, "123456789"); return err }, abi.Invalid},
		{"long key on delete", nil, `c:delete("123456789")`,
			func() error { _, err := small.Delete(ctx, "123456789"); return err }, abi.Invalid},
		{"long key on entry", nil, `c:entry("123456789")`,
			func() error { _, _, err := small.Entry(ctx, "123456789"); return err }, abi.Invalid},
		{"large value", nil, `c:set("k", string.rep("x", 100))`,
			func() error { return small.Set(ctx, "k", strings.Repeat("x", 100), 0) }, abi.Invalid},
		{"negative ttl", nil, `c:set("k", 1, -1)`,
			func() error { return small.Set(ctx, "k", 1, -time.Second) }, abi.Invalid},
		{"ttl over 100 years", nil, `c:put("k", 1, {ttl = 3153600001})`,
			func() error {
				_, err := small.Put(ctx, "k", 1, host.PutOptions{TTL: 3153600001 * time.Second})
				return err
			}, abi.Invalid},
		{"both put conditions", nil, `c:put("k", 1, {only_if_absent = true, if_version = "1"})`,
			func() error {
				_, err := small.Put(ctx, "k", 1, host.PutOptions{OnlyIfAbsent: true, IfVersion: "1"})
				return err
			}, abi.Invalid},
		{"only if absent on a live key", func() { require.NoError(t, small.Set(ctx, "held", 1, 0)) },
			`c:put("held", 2, {only_if_absent = true})`,
			func() error {
				_, err := small.Put(ctx, "held", 2, host.PutOptions{OnlyIfAbsent: true})
				return err
			}, abi.AlreadyExists},
		{"if version that does not match", nil, `c:put("held", 2, {if_version = "999"})`,
			func() error { _, err := small.Put(ctx, "held", 2, host.PutOptions{IfVersion: "999"}); return err },
			abi.Conflict},
		{"if version that is no version", nil, `c:put("held", 2, {if_version = "x"})`,
			func() error { _, err := small.Put(ctx, "held", 2, host.PutOptions{IfVersion: "x"}); return err },
			abi.Conflict},
		{"if version on a missing key", nil, `c:put("gone", 2, {if_version = "1"})`,
			func() error { _, err := small.Put(ctx, "gone", 2, host.PutOptions{IfVersion: "1"}); return err },
			abi.Conflict},
		{"incr of a string", func() { require.NoError(t, small.Set(ctx, "held", "str", 0)) },
			`c:incr("held", 1)`,
			func() error { _, err := small.Incr(ctx, "held", 1, 0); return err }, abi.Invalid},
		{"incr by NaN", nil, `c:incr("n", 0/0)`,
			func() error { _, err := small.Incr(ctx, "n", math.NaN(), 0); return err }, abi.Invalid},
		{"incr by infinity", nil, `c:incr("n", 1/0)`,
			func() error { _, err := small.Incr(ctx, "n", math.Inf(1), 0); return err }, abi.Invalid},
		{"list limit too large", nil, `c:list({limit = 1001})`,
			func() error { _, err := small.List(ctx, host.ListOptions{Limit: 1001}); return err }, abi.Invalid},
		{"list limit negative", nil, `c:list({limit = -1})`,
			func() error { _, err := small.List(ctx, host.ListOptions{Limit: -1}); return err }, abi.Invalid},
		{"full store", func() { require.NoError(t, small.Set(ctx, "k2", 1, 0)) }, `c:set("k3", 1)`,
			func() error { return small.Set(ctx, "k3", 1, 0) }, abi.Unavailable},
	}
	// Where the words differ, both are given. The Lua guest stops encoding a value at
	// max_value_bytes, so it cannot say its size; Go has the whole encoding, and the
	// host's words.
	differentWords := map[string]struct{ lua, goErr string }{
		"large value": {
			"Invalid|false|value: encoded value is larger than max_value_bytes 64",
			"Invalid|false|value: encoded value is 102 bytes, larger than max_value_bytes 64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			out, err := runLua(t, h, `local c = require("store").get("app:small")
local function last(...) return (select(select("#", ...), ...)) end
local e = last(`+tc.lua+`)
print(e:kind() .. "|" .. tostring(e:retryable()) .. "|" .. e:message())`)
			require.NoError(t, err, out)
			luaErr := strings.TrimSuffix(out, "\n")
			goErr := tc.goErr()
			want := luaErr
			if w, ok := differentWords[tc.name]; ok {
				assert.Equal(t, w.lua, luaErr)
				want = w.goErr
			}
			assert.Equal(t, want, kindAndMessage(t, goErr))
			assert.True(t, errors.Is(goErr, tc.kind), "errors.Is(%v, %s)", goErr, tc.kind)
		})
	}
}

// TestGoStoreOperations drives every Go operation on the injected clock and checks that
// scripts see what Go wrote, and Go what scripts wrote.
func TestGoStoreOperations(t *testing.T) {
	h, clock := newClockHost(t)
	ctx := context.Background()
	s, ok := h.Store("app:cache")
	require.True(t, ok)

	t.Run("set get has delete", func(t *testing.T) {
		require.NoError(t, s.Set(ctx, "a", map[string]any{"n": 1}, 0))
		var got map[string]any
		found, err := s.Get(ctx, "a", &got)
		require.NoError(t, err)
		assert.True(t, found)
		assert.Equal(t, map[string]any{"n": int64(1)}, got)
		has, err := s.Has(ctx, "a")
		require.NoError(t, err)
		assert.True(t, has)
		deleted, err := s.Delete(ctx, "a")
		require.NoError(t, err)
		assert.True(t, deleted)
		deleted, err = s.Delete(ctx, "a")
		require.NoError(t, err)
		assert.False(t, deleted, "only a live key counts as deleted")
		found, err = s.Get(ctx, "a", &got)
		require.NoError(t, err)
		assert.False(t, found)
	})

	t.Run("entry has the version and ttl a script sees", func(t *testing.T) {
		require.NoError(t, s.Set(ctx, "e", "v", 10*time.Second))
		clock.Advance(4 * time.Second)
		e, found, err := s.Entry(ctx, "e")
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, "e", e.Key)
		assert.Equal(t, 6*time.Second, e.TTL)
		var val string
		require.NoError(t, e.Decode(&val))
		assert.Equal(t, "v", val)
		mustRun(t, h, `local e = require("store").get("app:cache"):entry("e")
print(e.version, e.ttl)`, e.Version+"\t6")

		_, found, err = s.Entry(ctx, "missing")
		require.NoError(t, err)
		assert.False(t, found)
		clock.Advance(6 * time.Second)
		_, found, err = s.Entry(ctx, "e")
		require.NoError(t, err)
		assert.False(t, found, "expired at its deadline")
	})

	t.Run("ttl is rounded to milliseconds as a script's", func(t *testing.T) {
		require.NoError(t, s.Set(ctx, "r1", 1, 1400*time.Microsecond))
		require.NoError(t, s.Set(ctx, "r2", 1, time.Nanosecond))
		e, _, err := s.Entry(ctx, "r1")
		require.NoError(t, err)
		assert.Equal(t, time.Millisecond, e.TTL)
		e, _, err = s.Entry(ctx, "r2")
		require.NoError(t, err)
		assert.Equal(t, time.Millisecond, e.TTL, "a positive ttl lasts at least 1 ms")
		clock.Advance(time.Millisecond)
		has, err := s.Has(ctx, "r2")
		require.NoError(t, err)
		assert.False(t, has)
	})

	t.Run("put conditions and versions", func(t *testing.T) {
		first, err := s.Put(ctx, "lock", "owner-1", host.PutOptions{OnlyIfAbsent: true, TTL: 5 * time.Second})
		require.NoError(t, err)
		assert.Equal(t, 5*time.Second, first.TTL)
		_, err = s.Put(ctx, "lock", "owner-2", host.PutOptions{OnlyIfAbsent: true})
		assert.True(t, errors.Is(err, abi.AlreadyExists), "%v", err)

		second, err := s.Put(ctx, "lock", "owner-2", host.PutOptions{IfVersion: first.Version})
		require.NoError(t, err)
		assert.NotEqual(t, first.Version, second.Version)
		assert.Zero(t, second.TTL, "a put without ttl clears the expiry")
		_, err = s.Put(ctx, "lock", "owner-3", host.PutOptions{IfVersion: first.Version})
		var e *host.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, abi.Conflict, e.Kind)
		assert.True(t, e.Retryable, "a conflict is retried after a re-read")

		// A script's if_version takes the version Go read, and the other way round.
		mustRun(t, h, `local c = require("store").get("app:cache")
local e = c:put("lock", "owner-lua", {if_version = "`+second.Version+`"})
print(e.value)`, "owner-lua")
		cur, _, err := s.Entry(ctx, "lock")
		require.NoError(t, err)
		_, err = s.Put(ctx, "lock", "owner-go", host.PutOptions{IfVersion: cur.Version})
		require.NoError(t, err)
	})

	t.Run("incr", func(t *testing.T) {
		n, err := s.Incr(ctx, "hits", 2, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2.0, n)
		clock.Advance(4 * time.Second)
		n, err = s.Incr(ctx, "hits", 0.5, time.Hour)
		require.NoError(t, err)
		assert.Equal(t, 2.5, n)
		e, _, err := s.Entry(ctx, "hits")
		require.NoError(t, err)
		assert.Equal(t, 6*time.Second, e.TTL, "an existing key keeps its expiry")
		mustRun(t, h, `print(require("store").get("app:cache"):incr("hits", -0.5))`, "2")
		var got int64
		_, err = s.Get(ctx, "hits", &got)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got, "a whole number is stored as an integer")
	})

	t.Run("list pages by prefix and cursor", func(t *testing.T) {
		for i := range 5 {
			require.NoError(t, s.Set(ctx, fmt.Sprintf("user:%d", i), i, 0))
		}
		require.NoError(t, s.Set(ctx, "userx", 0, 0))
		var keys []string
		pages := 0
		for after := ""; ; {
			page, err := s.List(ctx, host.ListOptions{Prefix: "user:", After: after, Limit: 2})
			require.NoError(t, err)
			pages++
			for _, it := range page.Items {
				keys = append(keys, it.Key)
			}
			if !page.HasMore {
				break
			}
			after = page.Cursor
		}
		assert.Equal(t, []string{"user:0", "user:1", "user:2", "user:3", "user:4"}, keys)
		assert.Equal(t, 3, pages)

		page, err := s.List(ctx, host.ListOptions{Prefix: "user:", After: "user:4"})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
		assert.False(t, page.HasMore)
		assert.Equal(t, "user:4", page.Cursor, "an empty page keeps the cursor")
	})

	t.Run("info", func(t *testing.T) {
		assert.Equal(t, abi.Info{ID: "app:cache", Backend: "MEMORY", Consistency: "LINEARIZABLE",
			List: true, Versioned: true, ConditionalPut: true, TTL: true}, s.Info())
	})

	t.Run("a value Go cannot decode into is Invalid", func(t *testing.T) {
		require.NoError(t, s.Set(ctx, "str", "text", 0))
		var n int
		found, err := s.Get(ctx, "str", &n)
		assert.True(t, found)
		assert.True(t, errors.Is(err, abi.Invalid), "%v", err)
	})

	t.Run("a value Go cannot encode is Invalid", func(t *testing.T) {
		err := s.Set(ctx, "ch", make(chan int), 0)
		assert.True(t, errors.Is(err, abi.Invalid), "%v", err)
	})
}

// TestRunErrorKinds: every error Run returns is an *host.Error, matched by kind with
// errors.Is, including the runs that never start.
func TestRunErrorKinds(t *testing.T) {
	h := newHost(t, testConfig, host.WithLogger(discardLogger()))
	run := func(ctx context.Context, s host.Script) error {
		if s.Name == "" {
			s.Name = "t.lua"
		}
		return h.Run(ctx, s)
	}
	err := run(context.Background(), host.Script{Module: "test", Source: []byte(`return nil, errors.new("CONFLICT", "taken")`)})
	assert.True(t, errors.Is(err, abi.Conflict), "%v", err)
	assert.False(t, errors.Is(err, abi.NotFound))

	err = run(context.Background(), host.Script{Source: []byte(`print(1)`)})
	assert.Equal(t, "Invalid|false|a script needs a module name", kindAndMessage(t, err))

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	err = run(canceled, host.Script{Module: "test", Source: []byte(`print(1)`)})
	assert.True(t, errors.Is(err, abi.Canceled), "%v", err)

	// A guest that imports what the host lacks fails to start: Internal, naming it.
	g, err := h.LoadGuest(context.Background(), watGuest(t, "load_env_import"))
	require.NoError(t, err)
	err = run(context.Background(), host.Script{Module: "test", Guest: g})
	var e *host.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, abi.Internal, e.Kind)
	assert.Contains(t, e.Message, "env")
}
