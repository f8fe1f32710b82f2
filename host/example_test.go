package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wasmkv/wasmkv/host"
)

// A script runs in a fresh sandbox on the default config, and Go reads what it stored.
func ExampleHost_Run() {
	ctx := context.Background()
	h, err := host.New(ctx, host.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)

	err = h.Run(ctx, host.Script{
		Module: "example",
		Name:   "hello.lua",
		Source: []byte(`
			local cache = require("store").get("app:cache")
			cache:set("greeting", {text = "hello", n = 42}, 60)
			print(cache:get("greeting").text)`),
		Stdout:  os.Stdout,
		Timeout: 5 * time.Second,
	})
	if err != nil {
		panic(err)
	}

	store, _ := h.Store("app:cache")
	var v struct {
		Text string `cbor:"text"`
		N    int64  `cbor:"n"`
	}
	found, _ := store.Get(ctx, "greeting", &v)
	fmt.Println(found, v.Text, v.N)
	// Output:
	// hello
	// true hello 42
}

// A script's error reaches Go with its kind; a stuck script is stopped by its timeout.
func ExampleRunError() {
	ctx := context.Background()
	h, err := host.New(ctx, host.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)

	for _, src := range []string{
		`return nil, errors.new("CONFLICT", "cart is locked")`,
		`while true do end`,
	} {
		err := h.Run(ctx, host.Script{Module: "example", Name: "x.lua", Source: []byte(src), Timeout: 100 * time.Millisecond})
		var re *host.RunError
		if errors.As(err, &re) {
			fmt.Println(re.Kind, re.Retryable, re.Message)
		}
	}
	// Output:
	// Conflict false cart is locked
	// Timeout true script exceeded its timeout of 100ms
}

// Policies decide every store action; a denial is an error value in Lua.
func ExampleParseConfig() {
	cfg, err := host.ParseConfig([]byte(`
stores:
  app:data: {kind: memory}
policies:
  - name: readers
    effect: allow
    modules: ["reader"]
    actions: ["store.get", "store.key.get"]
    resources: ["app:data"]
`))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	h, err := host.New(ctx, cfg, host.WithLogger(discardLogger()))
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)
	err = h.Run(ctx, host.Script{Module: "reader", Name: "r.lua", Stdout: os.Stdout, Source: []byte(`
		local s = require("store").get("app:data")
		print(s:set("k", 1))`)})
	if err != nil {
		panic(err)
	}
	allowed, denied := h.Decisions("reader")
	fmt.Println(allowed, denied)
	// Output:
	// false	PermissionDenied: permission denied: store.key.set on "app:data"
	// 1 1
}
