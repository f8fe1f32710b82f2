package host_test

import (
	"testing"
	"time"

	"github.com/wasmkv/wasmkv/host"
)

// TestTTL drives expiry on the injected clock: no test sleeps.
func TestTTL(t *testing.T) { eachGuest(t, testTTL) }

func testTTL(t *testing.T, guest string) {
	h, clock := newClockHost(t, host.WithDefaultGuest(guest))
	step := func(t *testing.T, src string, want ...string) {
		t.Helper()
		mustRun(t, h, `local c = require("store").get("app:cache")`+"\n"+src, want...)
	}

	t.Run("expires exactly at the deadline", func(t *testing.T) {
		step(t, `show(c:set("t1", "v", 2))`, `true`)
		clock.Advance(2*time.Second - time.Millisecond)
		step(t, `show(c:get("t1")); show(c:has("t1"))`, `"v"`, `true`)
		clock.Advance(time.Millisecond)
		step(t, `show(c:get("t1")); show(c:has("t1")); show(c:delete("t1"))`,
			`nil err(NotFound,false,key "t1" not found)`, `false`, `false`)
	})
	t.Run("overwrite resets the ttl", func(t *testing.T) {
		step(t, `show(c:set("t2", 1, 1))`, `true`)
		clock.Advance(900 * time.Millisecond)
		step(t, `show(c:set("t2", 2, 1))`, `true`)
		clock.Advance(900 * time.Millisecond)
		step(t, `show(c:get("t2"))`, `2`)
		clock.Advance(100 * time.Millisecond)
		step(t, `show(c:has("t2"))`, `false`)
	})
	t.Run("set without ttl clears the ttl", func(t *testing.T) {
		step(t, `show(c:set("t3", 1, 1)); show(c:set("t3", 2))`, `true`, `true`)
		clock.Advance(24 * time.Hour)
		step(t, `show(c:get("t3"))`, `2`)
	})
	t.Run("ttl zero means no expiry", func(t *testing.T) {
		step(t, `show(c:set("t4", 1, 0))`, `true`)
		clock.Advance(24 * time.Hour)
		step(t, `show(c:get("t4"))`, `1`)
	})
	t.Run("fractional ttl has millisecond resolution", func(t *testing.T) {
		step(t, `show(c:set("t5", 1, 0.3)); show(c:set("t6", 1, 0.0001))`, `true`, `true`)
		clock.Advance(time.Millisecond - time.Nanosecond)
		step(t, `show(c:has("t5"), c:has("t6"))`, `true true`)
		clock.Advance(time.Nanosecond)
		// any positive ttl lasts at least 1 ms, and no longer than rounding gives
		step(t, `show(c:has("t5"), c:has("t6"))`, `true false`)
		clock.Advance(298 * time.Millisecond)
		step(t, `show(c:has("t5"))`, `true`)
		clock.Advance(time.Millisecond)
		step(t, `show(c:has("t5"))`, `false`)
	})
	t.Run("bad ttls are Invalid and leave the old value", func(t *testing.T) {
		step(t, `show(c:set("t7", "old"))
show(c:set("t7", "new", -1))
show(c:set("t7", "new", 0/0))
show(c:set("t7", "new", 1/0))
show(c:set("t7", "new", -1/0))
show(c:set("t7", "new", 3153600001))
show(c:get("t7"))
show(c:set("t7", "max", 3153600000))
show(c:get("t7"))`,
			`true`,
			`false err(Invalid,false,ttl must not be negative)`,
			`false err(Invalid,false,ttl must be a finite number)`,
			`false err(Invalid,false,ttl must be a finite number)`,
			`false err(Invalid,false,ttl must be a finite number)`,
			`false err(Invalid,false,ttl must be at most 3153600000 seconds (100 years))`,
			`"old"`, `true`, `"max"`)
		clock.Advance(100 * 365 * 24 * time.Hour)
		step(t, `show(c:has("t7"))`, `false`)
	})
}
