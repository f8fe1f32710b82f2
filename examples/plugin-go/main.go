//go:build wasip1

// Command plugin is a wasmkv guest written in Go with the SDK, not in Lua: the CLI runs
// it with `wasmkv run examples/plugin-go/plugin.wasm [NAME [STORE]]` under the same
// config, policies and limits as a Lua script. It counts visits per name in a store
// (app:cache by default).
package main

import (
	"fmt"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/sdk"
)

func main() {}

//go:wasmexport run
func run() { sdk.Run(visit) }

type visitor struct {
	Name   string `cbor:"name"`
	Visits int64  `cbor:"visits"`
}

func visit(args []string) error {
	name, store := "world", "app:cache"
	if len(args) > 0 {
		name = args[0]
	}
	if len(args) > 1 {
		store = args[1]
	}
	s, err := sdk.Open(store)
	if err != nil {
		return err
	}
	defer s.Release()

	n, err := s.Incr("visits:"+name, 1, time.Hour)
	if err != nil {
		return err
	}
	key := "visitor:" + name
	if err := s.Set(key, visitor{Name: name, Visits: int64(n)}, time.Hour); err != nil {
		return err
	}
	var v visitor
	if err := s.Get(key, &v); err != nil {
		return err
	}
	fmt.Printf("hello %s, visit %d\n", v.Name, v.Visits)

	// A lock with a lease, as the Lua lock example takes it.
	if _, err := s.Put("lock:"+name, true, sdk.PutOptions{OnlyIfAbsent: true, TTL: 5 * time.Second}); err != nil {
		if sdk.IsKind(err, abi.AlreadyExists) {
			fmt.Println("lock already held")
		} else {
			return err
		}
	} else {
		fmt.Println("lock taken")
	}

	page, err := s.List(sdk.ListOptions{Prefix: "visits:"})
	if err != nil {
		return err
	}
	fmt.Printf("%d names seen\n", len(page.Keys))

	if err := s.Get("missing", &v); !sdk.IsKind(err, abi.NotFound) {
		return fmt.Errorf("want NotFound for a missing key, got %v", err)
	}
	return nil
}
