// Command wasmkv runs Lua scripts in the wasmkv sandbox.
//
//	wasmkv run [--config FILE] [--module NAME] [--timeout DUR] FILE.lua [ARGS...]
//	wasmkv run [flags] FILE.wasm [ARGS...]
//
// A .wasm file is a guest module built against the wasmkv ABI (see docs/abi.md), run
// under the same configuration, policies and limits as a Lua script.
//
// Exit codes: 0 success; 1 the script raised an error or returned nil, err; 2 usage or
// configuration error; 124 the timeout was hit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// Exit codes.
const (
	exitOK      = 0
	exitScript  = 1
	exitUsage   = 2
	exitTimeout = 124
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: wasmkv run [--config FILE] [--module NAME] [--guest gopher-lua|puc-lua] [--timeout DUR] [--memory-limit SIZE] [--output-limit SIZE] FILE.lua|FILE.wasm [ARGS...]`

// run is the whole CLI, so tests can call it in process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	fs := flag.NewFlagSet("wasmkv run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	configPath := fs.String("config", "", "configuration file (YAML); default: the embedded default config")
	module := fs.String("module", "", "module name, the policy actor (default: the script's file name without extension)")
	timeout := fs.Duration("timeout", 0, "bound on the script's execution (default: the module's timeout, else 5s)")
	guest := fs.String("guest", "", "Lua guest: gopher-lua or puc-lua (default: the module's guest, else gopher-lua)")
	var memoryLimit, outputLimit host.ByteSize
	fs.Var(&memoryLimit, "memory-limit", "bound on the sandbox's memory, e.g. 64MiB (default: the module's memory_limit, else 128MiB)")
	fs.Var(&outputLimit, "output-limit", "bound on what the script may print, per stream (default: the module's output_limit, else 1MiB)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if fs.NArg() < 1 {
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	switch *guest {
	case "", host.GuestGopherLua, host.GuestPucLua:
	default:
		fmt.Fprintf(stderr, "wasmkv: unknown guest %q (%s, %s)\n", *guest, host.GuestGopherLua, host.GuestPucLua)
		return exitUsage
	}
	if err := checkFlags(*timeout, memoryLimit, outputLimit); err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	file := fs.Arg(0)
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	cfgData, err := readConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	cfg, err := host.ParseConfig(cfgData)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	if *module == "" {
		*module = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	h, err := hostFor(ctx, cfgData, cfg, *guest)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	script := host.Script{
		Module:      *module,
		Name:        filepath.Base(file),
		Source:      src,
		Args:        fs.Args()[1:],
		Stdout:      stdout,
		Stderr:      stderr,
		Logger:      slog.New(slog.NewTextHandler(stderr, nil)),
		LuaGuest:    *guest,
		Timeout:     *timeout,
		MemoryLimit: memoryLimit,
		OutputLimit: outputLimit,
	}
	// A .wasm file is a guest of its own, built against the ABI in any language.
	if strings.EqualFold(filepath.Ext(file), ".wasm") {
		g, err := h.LoadGuest(ctx, src)
		if err != nil {
			fmt.Fprintf(stderr, "wasmkv: %s: %v\n", file, err)
			return exitUsage
		}
		script.Source, script.Guest = nil, g
	}
	err = h.Run(ctx, script)
	var re *host.RunError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &re):
		fmt.Fprintf(stderr, "wasmkv: %s: %s\n", *module, re.Error())
		if re.Kind == abi.Timeout {
			return exitTimeout
		}
		return exitScript
	default:
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitScript
	}
}

// checkFlags applies to the limit flags the ranges a config file's limits have.
func checkFlags(timeout time.Duration, memoryLimit, outputLimit host.ByteSize) error {
	for _, f := range []struct {
		flag, setting string
		v             int64
	}{
		{"--timeout", "timeout", int64(timeout)},
		{"--memory-limit", "memory_limit", int64(memoryLimit)},
		{"--output-limit", "output_limit", int64(outputLimit)},
	} {
		if err := host.CheckModuleLimit(f.setting, f.v); err != nil {
			var ce *host.ConfigError
			if errors.As(err, &ce) {
				return fmt.Errorf("%s: %s", f.flag, ce.Msg)
			}
			return err
		}
	}
	return nil
}

func readConfig(path string) ([]byte, error) {
	if path == "" {
		return host.DefaultConfigYAML(), nil
	}
	return os.ReadFile(path)
}

// hosts keeps one host per configuration for the life of the process, so that runs in
// one process share their stores (and compile the guest once).
var (
	hostsMu sync.Mutex
	hosts   = map[string]*host.Host{}
)

func hostFor(ctx context.Context, data []byte, cfg *host.Config, guest string) (*host.Host, error) {
	hostsMu.Lock()
	defer hostsMu.Unlock()
	// The guest is the host's default, so that New compiles the one the run needs.
	key := guest + "\x00" + string(data)
	if h, ok := hosts[key]; ok {
		return h, nil
	}
	h, err := host.New(context.WithoutCancel(ctx), cfg, host.WithDefaultGuest(guest))
	if err != nil {
		return nil, err
	}
	hosts[key] = h
	return h, nil
}
