// Command embed is a Go application that embeds wasmkv. It shows the two ways in:
//
//  1. host.New and Host.Run: a Go plugin (examples/plugin-go) and the Lua guest run side
//     by side on one store, under a policy that lets the plugin write and the Lua script
//     only read; the application then reads what they wrote from Go.
//  2. Host.Instantiate: the application keeps its own wazero runtime and adds wasmkv's
//     host module to it, as it would add WASI, then runs its own module in it (the raw
//     WAT guest of examples/plugin-wat), named so that the policy knows who it is.
//
// It is a Go module of its own (see go.mod), built as an application would build it.
// Build the plugins first (make plugins), then:
//
//	cd examples/embed && go run .
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmkv/wasmkv/host"
)

const config = `
stores:
  app:cache: {kind: memory}
policies:
  - name: plugins-write
    effect: allow
    modules: ["go.writer", "wat.writer"]
    resources: ["app:cache"]
  - name: lua-reads
    effect: allow
    modules: ["lua.reader"]
    actions: ["store.get", "store.key.get", "store.key.has", "store.key.list"]
    resources: ["app:cache"]
`

// readerLua reads what the plugin wrote, then tries to write, which its policy denies.
const readerLua = `
local s = assert(require("store").get("app:cache"))
local v = s:get("visitor:ada")
print("lua read: " .. v.name .. ", visit " .. v.visits)
local ok, err = s:set("visitor:ada", "overwritten")
print("lua write: " .. tostring(err))
`

func main() {
	if err := run(context.Background(), os.Stdout, ".."); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// run is the whole example; examples is the path of the examples directory.
func run(ctx context.Context, out io.Writer, examples string) error {
	cfg, err := host.ParseConfig([]byte(config))
	if err != nil {
		return err
	}
	h, err := host.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close(ctx)

	// 1. The Go plugin writes and the Lua guest reads, on one host.
	pluginWasm, err := os.ReadFile(filepath.Join(examples, "plugin-go", "plugin.wasm"))
	if err != nil {
		return fmt.Errorf("%w (run make plugins first)", err)
	}
	plugin, err := h.LoadGuest(ctx, pluginWasm)
	if err != nil {
		return err
	}
	var pluginOut bytes.Buffer
	if err := h.Run(ctx, host.Script{Module: "go.writer", Name: "plugin", Guest: plugin,
		Args: []string{"ada"}, Stdout: &pluginOut, Timeout: 5 * time.Second}); err != nil {
		return err
	}
	fmt.Fprint(out, "plugin: ", pluginOut.String())
	if err := h.Run(ctx, host.Script{Module: "lua.reader", Name: "reader.lua", Source: []byte(readerLua),
		Stdout: out, Timeout: 5 * time.Second}); err != nil {
		return err
	}
	store, _ := h.Store("app:cache")
	var visitor struct {
		Name   string `cbor:"name"`
		Visits int64  `cbor:"visits"`
	}
	if _, err := store.Get(ctx, "visitor:ada", &visitor); err != nil {
		return err
	}
	fmt.Fprintf(out, "go read: %s, visit %d\n", visitor.Name, visitor.Visits)

	// 2. The application's own runtime, with wasmkv added to it.
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	emb, err := h.Instantiate(ctx, r)
	if err != nil {
		return err
	}
	watWasm, err := os.ReadFile(filepath.Join(examples, "plugin-wat", "plugin.wasm"))
	if err != nil {
		return fmt.Errorf("%w (run make plugins first)", err)
	}
	for _, name := range []string{"wat.stranger", "wat.writer"} {
		// The module's name is its identity for the policy.
		mod, err := r.InstantiateWithConfig(ctx, watWasm, wazero.NewModuleConfig().WithName(name))
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = mod.ExportedFunction("run").Call(rctx)
		cancel()
		mod.Close(ctx)
		if err != nil {
			return err
		}
		allowed, denied := emb.Host().Decisions(name)
		fmt.Fprintf(out, "%s: %d allowed, %d denied\n", name, allowed, denied)
	}
	var hello string
	found, err := store.Get(ctx, "wat:hello", &hello)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "go read: wat:hello = %q (found %v)\n", hello, found)

	// A module that imports nothing of ours runs in the same runtime as before.
	plain, err := r.Instantiate(ctx, minimalModule)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "plain module %q runs beside it\n", plain.Name())
	return emb.Close(ctx)
}

// minimalModule is the smallest wasm module: the header, no imports, no exports.
var minimalModule = []byte("\x00asm\x01\x00\x00\x00")
