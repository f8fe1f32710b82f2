package host_test

// The Go snippets of README.md are the bodies of these examples, line for line
// (TestREADMEGoSnippets checks it), so every snippet compiles and runs as written.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// checkoutYAML is the configuration of the package example.
const checkoutYAML = `
stores:
  app:cache: {kind: memory}
policies:
  - name: checkout
    effect: allow
    modules: ["web.checkout"]
    resources: ["app:cache"]
`

// An application runs an untrusted script in the sandbox, under a policy.
func Example() {
	ctx := context.Background()
	yamlBytes := []byte(checkoutYAML)

	cfg, err := host.ParseConfig(yamlBytes) // or host.DefaultConfig()
	if err != nil {
		log.Fatal(err)
	}
	h, err := host.New(ctx, cfg) // compiles the guest once (cached on disk)
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	err = h.Run(ctx, host.Script{
		Module:  "web.checkout", // the policy actor
		Name:    "checkout.lua",
		Source:  []byte(`local cart = ... print("checking out " .. cart)`),
		Args:    []string{"cart-42"},
		Stdout:  os.Stdout,
		Timeout: 2 * time.Second,
	})
	var e *host.Error // every error of Run: the script's kind, Timeout, Canceled, ...
	if errors.As(err, &e) {
		log.Fatalf("%s (retryable: %v): %s", e.Kind, e.Retryable, e.Message)
	}
	allowed, denied := h.Decisions("web.checkout") // policy decision counters
	fmt.Println(allowed, denied)
	// Output:
	// checking out cart-42
	// 0 0
}

// Go shares the stores with scripts, with the same operations, rules and errors.
func ExampleStore() {
	ctx := context.Background()
	h, err := host.New(ctx, host.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	s, _ := h.Store("app:cache") // false if the config has no such store
	if err := s.Set(ctx, "config:flags", map[string]any{"beta": true}, time.Hour); err != nil {
		log.Fatal(err)
	}
	var flags map[string]any
	found, err := s.Get(ctx, "config:flags", &flags) // found is false for a missing key
	fmt.Println(found, flags["beta"], err)

	lock := host.PutOptions{OnlyIfAbsent: true, TTL: 5 * time.Second}
	_, err1 := s.Put(ctx, "lock:order-7", "worker-1", lock)
	_, err2 := s.Put(ctx, "lock:order-7", "worker-2", lock)
	fmt.Println(err1, errors.Is(err2, abi.AlreadyExists), err2) // the lock is held

	e, found, err := s.Entry(ctx, "lock:order-7") // value, version and ttl left
	fmt.Println(found, e.TTL.Round(time.Second), err)
	_, err = s.Put(ctx, "lock:order-7", "worker-1", host.PutOptions{IfVersion: e.Version})
	fmt.Println(err) // Conflict (retryable) if someone wrote it since we read it

	n, err := s.Incr(ctx, "hits", 1, time.Minute) // atomic; a missing key starts at 0
	fmt.Println(n, err)
	page, err := s.List(ctx, host.ListOptions{Prefix: "config:", Limit: 100})
	fmt.Println(len(page.Items), page.Items[0].Key, page.HasMore, err)
	fmt.Println(s.Info().Backend)
	// Output:
	// true true <nil>
	// <nil> true AlreadyExists: key "lock:order-7" already exists
	// true 5s <nil>
	// <nil>
	// 1 <nil>
	// 1 config:flags false <nil>
	// MEMORY
}

// A script's error reaches Go with its kind; a stuck script is stopped by its timeout.
func ExampleError() {
	ctx := context.Background()
	h, err := host.New(ctx, host.DefaultConfig(), host.WithLogger(discardLogger()))
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	for _, src := range []string{
		`return nil, errors.new("CONFLICT", "cart is locked")`,
		`while true do end`,
	} {
		err := h.Run(ctx, host.Script{Module: "example", Name: "x.lua", Source: []byte(src), Timeout: 100 * time.Millisecond})
		var e *host.Error
		if errors.As(err, &e) {
			fmt.Println(e.Kind, e.Retryable, e.Message)
		}
		fmt.Println(errors.Is(err, abi.Timeout))
	}
	// Output:
	// Conflict false cart is locked
	// false
	// Timeout true script exceeded its timeout of 100ms
	// true
}

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

// A guest written in another language (here Go, with guest/sdk) runs like a script.
func ExampleHost_LoadGuest() {
	ctx := context.Background()
	h, err := host.New(ctx, host.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)
	wasm, err := os.ReadFile("../examples/plugin-go/plugin.wasm") // make plugins
	if err != nil {
		log.Fatal(err)
	}

	g, err := h.LoadGuest(ctx, wasm) // checks its imports and exports
	if err != nil {
		log.Fatal(err)
	}
	err = h.Run(ctx, host.Script{Module: "plugin", Guest: g, Args: []string{"ada"}, Stdout: os.Stdout})
	fmt.Println(err)
	// Output:
	// hello ada, visit 1
	// lock taken
	// 1 names seen
	// <nil>
}

// An application that runs its own wazero modules adds wasmkv's host functions to its
// runtime, as it adds WASI.
func ExampleInstantiate() {
	ctx := context.Background()
	cfg := host.DefaultConfig()
	wasm, err := os.ReadFile("../examples/plugin-wat/plugin.wasm") // make plugins
	if err != nil {
		log.Fatal(err)
	}

	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	emb, err := host.Instantiate(ctx, r, cfg) // or h.Instantiate(ctx, r) with an existing host
	if err != nil {
		log.Fatal(err)
	}
	defer emb.Close(ctx)
	mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName("tenant.a"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = mod.ExportedFunction("run").Call(ctx)

	s, _ := emb.Host().Store("app:cache")
	var hello string
	found, _ := s.Get(ctx, "wat:hello", &hello)
	fmt.Println(err, found, hello)
	// Output:
	// <nil> true hello from wat
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
