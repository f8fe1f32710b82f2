// Command wasmkv runs Lua scripts in the wasmkv sandbox.
//
//	wasmkv run [--config FILE] [--module NAME] [--timeout DUR] FILE.lua [ARGS...]
//	wasmkv run [flags] FILE.wasm [ARGS...]
//	wasmkv run [flags] - [ARGS...]
//	wasmkv serve --config FILE [--listen ADDR] [--admin ADDR]
//	wasmkv version
//	wasmkv help [command]
//
// A .wasm file is a guest module built against the wasmkv ABI (see docs/abi.md), run
// under the same configuration, policies and limits as a Lua script. "-" reads the
// script (or a wasm module) from standard input, as lua - does.
//
// Exit codes: 0 success; 1 the script raised an error or returned nil, err; 2 usage or
// configuration error; 124 the timeout was hit.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
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
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `wasmkv runs Lua scripts in a WebAssembly sandbox, against a key-value store on the host.

usage:
  wasmkv run [flags] FILE.lua|FILE.wasm|- [ARGS...]   run a script or guest module (- reads it from stdin)
  wasmkv serve --config FILE [--listen ADDR] [--admin ADDR]
                                                     serve the config's routes over HTTP
  wasmkv version                                     print the version and the embedded guests' sha256
  wasmkv help [command]                              print this help, or a command's

Exit codes: 0 success; 1 the script failed; 2 usage or configuration error; 124 timeout.
Run 'wasmkv help run' for the flags of run.
`

const runUsage = `usage: wasmkv run [--config FILE] [--module NAME] [--guest gopher-lua|puc-lua] [--timeout DUR] [--memory-limit SIZE] [--output-limit SIZE] FILE.lua|FILE.wasm|- [ARGS...]

Runs a Lua script, or a guest module built against the wasmkv ABI (a .wasm file), in a
fresh sandbox. "-" reads it from standard input (a wasm module is recognised by its
header). ARGS reach the script as ... .

Exit codes: 0 success; 1 the script raised an error or returned nil, err; 2 usage or
configuration error; 124 the timeout was hit.

flags:
`

const versionUsage = `usage: wasmkv version

Prints the module version of this binary, the Go version that built it, and the sha256
of each guest module built into it (also: wasmkv --version).
`

// run is the whole CLI, so tests can call it in process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runScript(ctx, args[1:], stdin, stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], stderr)
	case "version", "--version", "-version":
		if len(args) > 1 {
			fmt.Fprint(stderr, versionUsage)
			return exitUsage
		}
		printVersion(stdout)
		return exitOK
	case "help", "--help", "-help", "-h":
		return help(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "wasmkv: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// help prints the usage of the whole CLI, or of one command.
func help(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usage)
	case len(args) > 1:
		fmt.Fprint(stderr, "usage: wasmkv help [command]\n")
		return exitUsage
	case args[0] == "run":
		fs, _ := runFlags(stdout)
		fs.Usage()
	case args[0] == "version":
		fmt.Fprint(stdout, versionUsage)
	case args[0] == "serve":
		fmt.Fprintln(stdout, serveUsage)
	case args[0] == "help":
		fmt.Fprint(stdout, "usage: wasmkv help [command]\n\nPrints the usage of wasmkv, or of one command.\n")
	default:
		fmt.Fprintf(stderr, "wasmkv: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return exitOK
}

// printVersion prints the module version (a tag when installed with go install
// ...@version, a pseudo-version or "(devel)" when built from a checkout), the Go
// version, and each embedded guest's sha256, which identifies the exact sandbox.
func printVersion(w io.Writer) {
	version, revision := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	fmt.Fprintf(w, "wasmkv %s %s", version, runtime.Version())
	if revision != "" {
		fmt.Fprintf(w, " revision %s", revision)
	}
	fmt.Fprintln(w)
	for _, g := range host.EmbeddedGuests() {
		fmt.Fprintf(w, "guest %s sha256:%s %d bytes\n", g.Name, g.SHA256, g.Size)
	}
}

// runOptions are the flags of wasmkv run.
type runOptions struct {
	configPath               string
	module                   string
	guest                    string
	timeout                  time.Duration
	memoryLimit, outputLimit host.ByteSize
}

// runFlags returns the flag set of wasmkv run, with its usage written to w.
func runFlags(w io.Writer) (*flag.FlagSet, *runOptions) {
	o := &runOptions{}
	fs := flag.NewFlagSet("wasmkv run", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() { fmt.Fprint(w, runUsage); fs.PrintDefaults() }
	fs.StringVar(&o.configPath, "config", "", "configuration file (YAML); default: the embedded default config")
	fs.StringVar(&o.module, "module", "", "module name, the policy actor (default: the script's file name without extension; stdin for -)")
	fs.StringVar(&o.guest, "guest", "", "Lua guest: gopher-lua or puc-lua (default: the module's guest, else gopher-lua)")
	fs.DurationVar(&o.timeout, "timeout", 0, "bound on the script's execution (default: the module's timeout, else 5s)")
	fs.Var(&o.memoryLimit, "memory-limit", "bound on the sandbox's memory, e.g. 64MiB (default: the module's memory_limit, else 128MiB)")
	fs.Var(&o.outputLimit, "output-limit", "bound on what the script may print, per stream (default: the module's output_limit, else 1MiB)")
	return fs, o
}

func runScript(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, o := runFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return exitUsage
	}
	switch o.guest {
	case "", host.GuestGopherLua, host.GuestPucLua:
	default:
		fmt.Fprintf(stderr, "wasmkv: unknown guest %q (%s, %s)\n", o.guest, host.GuestGopherLua, host.GuestPucLua)
		return exitUsage
	}
	if err := checkFlags(o.timeout, o.memoryLimit, o.outputLimit); err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	file := fs.Arg(0)
	name, src, err := readScript(file, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	cfgData, err := readConfig(o.configPath)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	cfg, err := host.ParseConfig(cfgData)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	module := o.module
	if module == "" {
		module = strings.TrimSuffix(name, filepath.Ext(name))
	}
	h, err := hostFor(ctx, cfgData, cfg, o.guest)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitUsage
	}
	script := host.Script{
		Module:      module,
		Name:        name,
		Source:      src,
		Args:        fs.Args()[1:],
		Stdout:      stdout,
		Stderr:      stderr,
		Logger:      slog.New(slog.NewTextHandler(stderr, nil)),
		LuaGuest:    o.guest,
		Timeout:     o.timeout,
		MemoryLimit: o.memoryLimit,
		OutputLimit: o.outputLimit,
	}
	// A wasm module is a guest of its own, built against the ABI in any language.
	if isWasm(file, src) {
		g, err := h.LoadGuest(ctx, src)
		if err != nil {
			fmt.Fprintf(stderr, "wasmkv: %s: %v\n", name, err)
			return exitUsage
		}
		script.Source, script.Guest = nil, g
	}
	err = h.Run(ctx, script)
	var e *host.Error
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &e):
		fmt.Fprintf(stderr, "wasmkv: %s: %s\n", module, e.Error())
		if e.Kind == abi.Timeout {
			return exitTimeout
		}
		return exitScript
	default:
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		return exitScript
	}
}

// readScript reads the script named on the command line: a file, or standard input for
// "-", whose chunk name is then "stdin" as in lua -.
func readScript(file string, stdin io.Reader) (name string, src []byte, err error) {
	if file == "-" {
		src, err = io.ReadAll(stdin)
		if err != nil {
			return "", nil, fmt.Errorf("reading stdin: %w", err)
		}
		return "stdin", src, nil
	}
	src, err = os.ReadFile(file)
	return filepath.Base(file), src, err
}

// isWasm reports whether to run src as a guest module: a .wasm file, or a module read
// from stdin (a Lua chunk cannot start with the wasm header, a NUL byte).
func isWasm(file string, src []byte) bool {
	if file == "-" {
		return bytes.HasPrefix(src, []byte("\x00asm"))
	}
	return strings.EqualFold(filepath.Ext(file), ".wasm")
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
