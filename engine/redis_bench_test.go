package engine

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wasmkv/wasmkv/engine/redistest"
)

// The Redis engine beside raw go-redis SET/GET on the same server: the
// difference is the engine's layer (a Lua script that also maintains the
// version, the ttl index and the key index, and a reply to parse).
//
//	go test -run '^$' -bench Redis ./engine
//
// BenchmarkRedisOverhead interleaves the two and reports their ratio.

const redisBenchKeys = 1024

var redisBenchValue = bytes.Repeat([]byte("v"), 100)

func redisBenchSetup(b *testing.B) (*Redis, *redis.Client) {
	b.Helper()
	addr := redistest.Start(b)
	e := newTestRedis(b, addr, RedisOptions{KeyPrefix: "bench:"})
	raw := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	b.Cleanup(func() { _ = raw.Close() })
	ctx := context.Background()
	for i := range redisBenchKeys {
		k := fmt.Sprintf("key%04d", i)
		if err := e.Set(ctx, k, redisBenchValue, 0); err != nil {
			b.Fatal(err)
		}
		if err := raw.Set(ctx, "raw:"+k, redisBenchValue, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	return e, raw
}

func benchKey(i int) string { return fmt.Sprintf("key%04d", i%redisBenchKeys) }

func BenchmarkRedis(b *testing.B) {
	ctx := context.Background()
	e, raw := redisBenchSetup(b)
	ops := []struct {
		name string
		op   func(i int) error
	}{
		{"engine/set", func(i int) error { return e.Set(ctx, benchKey(i), redisBenchValue, 0) }},
		{"raw/set", func(i int) error { return raw.Set(ctx, "raw:"+benchKey(i), redisBenchValue, 0).Err() }},
		{"engine/get", func(i int) error { _, _, err := e.Get(ctx, benchKey(i)); return err }},
		{"raw/get", func(i int) error { return raw.Get(ctx, "raw:"+benchKey(i)).Err() }},
		{"engine/set-ttl", func(i int) error { return e.Set(ctx, benchKey(i), redisBenchValue, time.Hour) }},
		{"raw/set-ttl", func(i int) error { return raw.Set(ctx, "raw:"+benchKey(i), redisBenchValue, time.Hour).Err() }},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if err := o.op(i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(o.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := o.op(i); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkRedisOverhead times an engine call and the raw command it
// stands for in turn, and reports engine time / raw time.
func BenchmarkRedisOverhead(b *testing.B) {
	ctx := context.Background()
	e, raw := redisBenchSetup(b)
	pairs := []struct {
		name        string
		engine, raw func(i int) error
	}{
		{"set",
			func(i int) error { return e.Set(ctx, benchKey(i), redisBenchValue, 0) },
			func(i int) error { return raw.Set(ctx, "raw:"+benchKey(i), redisBenchValue, 0).Err() }},
		{"get",
			func(i int) error { _, _, err := e.Get(ctx, benchKey(i)); return err },
			func(i int) error { return raw.Get(ctx, "raw:"+benchKey(i)).Err() }},
	}
	for _, p := range pairs {
		b.Run(p.name, func(b *testing.B) {
			var engineTime, rawTime time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				if err := p.engine(i); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := p.raw(i); err != nil {
					b.Fatal(err)
				}
				engineTime += t1.Sub(t0)
				rawTime += time.Since(t1)
				i++
			}
			n := float64(b.N)
			b.ReportMetric(float64(engineTime.Nanoseconds())/n, "engine-ns/op")
			b.ReportMetric(float64(rawTime.Nanoseconds())/n, "raw-ns/op")
			b.ReportMetric(float64(engineTime)/float64(rawTime), "engine/raw")
		})
	}
}
