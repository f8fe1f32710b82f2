package host_test

import (
	"testing"
)

// TestHostileSmallOnes: the small findings of the hostile review (issue 12, item 12).
func TestHostileSmallOnes(t *testing.T) {
	h := newHost(t, testConfig)
	t.Run("a key or value past what a request carries is Invalid", func(t *testing.T) {
		mustRun(t, h, `
local c = require("store").get("app:cache")
local big = string.rep("k", 17 * 2^20)
local v, e = c:get(big) show(v, e:kind(), e:message():find("too large") ~= nil)
show(c:set("k", big))`,
			`nil "Invalid" true`,
			`false err(Invalid,false,value: encoded value is larger than max_value_bytes 1048576)`)
	})
	t.Run("incr that would overflow to infinity is Invalid and keeps the value", func(t *testing.T) {
		mustRun(t, h, `
local c = require("store").get("app:cache")
c:set("big", 1.5e308)
show(c:incr("big", 1.5e308))
show(c:get("big") == 1.5e308)
show(c:incr("big", -1.5e308))`,
			`nil err(Invalid,false,incr of key "big" by 1.5e+308 would overflow to infinity)`,
			"true",
			"0")
	})
	t.Run("string.format %d past int64 is clamped, as gopher-lua does (documented)", func(t *testing.T) {
		mustRun(t, h, `show(string.format("%d", 2^63), string.format("%d", -2^63), string.format("%d", 3.7))`,
			`"9223372036854775807" "-9223372036854775808" "3"`)
	})
}

// TestHostileValueDAG: a table that holds one subtable twice per level, twenty levels
// deep, has 2^20 leaves; with 100-byte strings as leaves it encodes to 100 MiB. The guest
// used to encode all of it before the host refused it (seconds, or the memory limit); it
// now stops at the store's max_value_bytes, which open reports, and says so.
func TestHostileValueDAG(t *testing.T) {
	h := newHost(t, testConfig)
	mustRun(t, h, `
local t = string.rep("x", 100)
for i = 1, 20 do t = {t, t} end
local c = require("store").get("app:cache")
show(c:set("k", t))
show(c:put("k", {t}))
local s = require("store").get("app:small")
show(s:set("k", t))
show(s:set("k", string.rep("x", 100)))
show(s:set("k", string.rep("x", 61)))`,
		`false err(Invalid,false,value: encoded value is larger than max_value_bytes 1048576)`,
		`nil err(Invalid,false,value: encoded value is larger than max_value_bytes 1048576)`,
		`false err(Invalid,false,value: encoded value is larger than max_value_bytes 64)`,
		`false err(Invalid,false,value: encoded value is larger than max_value_bytes 64)`,
		`true`)
}
