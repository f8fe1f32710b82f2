package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wasmkv/wasmkv/engine"
)

// The memory engine on an injected clock: expiry is exact, without sleeping.
func ExampleNewMemory() {
	clock := engine.NewManualClock(time.Unix(0, 0))
	m, err := engine.NewMemory(engine.MemoryOptions{MaxSize: 2, Clock: clock})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	ctx := context.Background()

	m.Set(ctx, "session", []byte("abc"), time.Second)
	clock.Advance(999 * time.Millisecond)
	_, ok, _ := m.Get(ctx, "session")
	fmt.Println("before the deadline:", ok)
	clock.Advance(time.Millisecond)
	_, ok, _ = m.Get(ctx, "session")
	fmt.Println("at the deadline:", ok)

	m.Set(ctx, "a", []byte("1"), 0)
	m.Set(ctx, "b", []byte("2"), 0)
	fmt.Println("full:", errors.Is(m.Set(ctx, "c", []byte("3"), 0), engine.ErrFull))

	e, _, _ := m.Get(ctx, "a")
	_, err = m.Put(ctx, "a", []byte("stale"), engine.PutOptions{IfVersion: e.Version + 1, HasIfVersion: true})
	fmt.Println("stale version:", errors.Is(err, engine.ErrConflict))
	// Output:
	// before the deadline: true
	// at the deadline: false
	// full: true
	// stale version: true
}
