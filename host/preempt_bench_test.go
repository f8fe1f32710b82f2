package host

import (
	"context"
	"testing"
	"time"
)

// BenchmarkPreemptionModes runs the same Lua loops through the host in each preemption
// mode and in preemptNone, the floor no real module can have (no termination at all):
//
//	go test -run '^$' -bench PreemptionModes -benchtime 20x ./host
func BenchmarkPreemptionModes(b *testing.B) {
	scripts := map[string]string{
		"table": `local t = {} for i = 1, 20000 do local k = "s:" .. (i % 64) t[k] = {id = i, name = "alice"} local v = t[k] if v.id ~= i then error("x") end end`,
		"store": `local c = require("store").get("app:cache") for i = 1, 2000 do local k = "s:" .. (i % 64) c:set(k, {id = i, name = "alice"}) local v = c:get(k) if v.id ~= i then error("x") end end`,
		"tiny":  `return 1`,
	}
	for _, mode := range []Preemption{PreemptCountdown, PreemptExitChecks, preemptNone} {
		cfg, err := ParseConfig([]byte("stores:\n  app:cache: {kind: memory}\npolicies:\n  - {name: all, effect: allow}\n"))
		if err != nil {
			b.Fatal(err)
		}
		h, err := New(context.Background(), cfg, WithPreemption(mode))
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range []string{"table", "store", "tiny"} {
			src := []byte(scripts[name])
			b.Run(name+"/"+string(mode), func(b *testing.B) {
				if err := h.Prewarm(context.Background(), "bench", 1); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := h.Run(context.Background(), Script{Module: "bench", Source: src, Timeout: time.Minute}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		h.Close(context.Background())
	}
}
