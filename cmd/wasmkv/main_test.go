package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "cfg.yaml", `
stores:
  app:data:
    kind: memory
policies:
  - name: writer
    effect: allow
    modules: ["writer"]
    resources: ["app:data"]
`)
	badCfg := writeFile(t, dir, "bad.yaml", "stores:\n  app:data:\n    kind: floppy\n")
	badPolicy := writeFile(t, dir, "badpolicy.yaml", "policies:\n  - name: p1\n    effect: maybe\n")
	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  []string
		stderrNone bool
	}{
		{"hello on the default config", []string{"run", "../../examples/hello.lua"}, 0,
			"hello from the sandbox (1)\nhas greeting:\ttrue\n", nil, true},
		{"args reach the script", []string{"run", writeFile(t, dir, "args.lua", `print(select("#", ...), ...)`), "x", "y"}, 0,
			"2\tx\ty\n", nil, true},
		{"raised error exits 1", []string{"run", writeFile(t, dir, "raise.lua", `print("before") error("boom")`)}, 1,
			"before\n", []string{"raise: Unknown: raise.lua:1: boom"}, false},
		{"raised error object keeps its kind", []string{"run", writeFile(t, dir, "raiseobj.lua", `error(errors.new("CONFLICT", "taken"))`)}, 1,
			"", []string{"raiseobj: Conflict: taken"}, false},
		{"nil, err return exits 1", []string{"run", writeFile(t, dir, "ret.lua", `return nil, errors.new("NOT_FOUND", "no such user")`)}, 1,
			"", []string{"ret: NotFound: no such user"}, false},
		{"a store error returned exits 1 with its kind", []string{"run", writeFile(t, dir, "nostore.lua", `return require("store").get("app:other")`)}, 1,
			"", []string{"nostore: PermissionDenied: permission denied: store.get on \"app:other\""}, false},
		{"syntax error exits 1", []string{"run", writeFile(t, dir, "syntax.lua", `local = 1`)}, 1,
			"", []string{"syntax: Invalid:"}, false},
		{"true return is success", []string{"run", writeFile(t, dir, "ok.lua", `return true, "ignored"`)}, 0, "", nil, true},
		{"timeout exits 124", []string{"run", "--timeout", "200ms", writeFile(t, dir, "loop.lua", `while true do end`)}, 124,
			"", []string{"loop: Timeout: script exceeded its timeout of 200ms"}, false},
		{"memory limit flag", []string{"run", "--memory-limit", "32MiB", writeFile(t, dir, "bomb.lua", `local s = string.rep("x", 2^28)`)}, 1,
			"", []string{"bomb: Internal: memory limit exceeded (32MiB)"}, false},
		{"output limit flag", []string{"run", "--output-limit", "10B", writeFile(t, dir, "chatty.lua", `print("0123456789abcdef")`)}, 0,
			"0123456789\n[wasmkv: output truncated at 10 bytes]\n", nil, true},
		{"bad size flag exits 2", []string{"run", "--memory-limit", "lots", "x.lua"}, 2, "", []string{"invalid size"}, false},
		{"a Go plugin guest", []string{"run", "../../examples/plugin-go/plugin.wasm", "carol"}, 0,
			"hello carol, visit 1\nlock taken\n1 names seen\n", nil, true},
		{"a raw WAT guest", []string{"run", "../../examples/plugin-wat/plugin.wasm"}, 0, "", nil, true},
		{"what the WAT guest stored", []string{"run", writeFile(t, dir, "readwat.lua", `print(require("store").get("app:cache"):get("wat:hello"))`)}, 0,
			"hello from wat\n", nil, true},
		{"a denied plugin fails with its error", []string{"run", "--config", cfg, "../../examples/plugin-go/plugin.wasm"}, 1,
			"", []string{`plugin: PermissionDenied: permission denied: store.get on "app:cache"`}, false},
		{"a wasm file that is no guest exits 2", []string{"run", writeFile(t, dir, "junk.wasm", "\x00asm\x01\x00\x00\x00")}, 2,
			"", []string{"junk.wasm", "does not export"}, false},
		{"a module of 100,000 nested blocks exits 2 before compiling", []string{"run", "--timeout", "2s", writeFile(t, dir, "nested.wasm", string(nestedBlocks(100_000)))}, 2,
			"", []string{"nested.wasm", "refused before compiling", "exceeds the limit MaxNestingDepth"}, false},
		{"a module of 50 million locals exits 2 before compiling", []string{"run", "--timeout", "2s", writeFile(t, dir, "locals.wasm", string(manyLocals(50_000_000)))}, 2,
			"", []string{"locals.wasm", "refused before compiling", "exceeds the limit MaxLocalsPerFunction"}, false},
		{"a spinning wasm guest exits 124", []string{"run", "--timeout", "300ms", "../../host/testdata/wat/hostile_spin.wasm"}, 124,
			"", []string{"hostile_spin: Timeout: script exceeded its timeout of 300ms"}, false},
		{"config file and module flag", []string{"run", "--config", cfg, "--module", "writer",
			writeFile(t, dir, "w.lua", `local s = assert(require("store").get("app:data")) print(s:set("k", 1))`)}, 0,
			"true\n", nil, true},
		{"module defaults to the file name", []string{"run", "--config", cfg,
			writeFile(t, dir, "writer.lua", `local s = assert(require("store").get("app:data")) print(s:has("k"))`)}, 0,
			"true\n", nil, true}, // and it sees what the previous run wrote: one host per process
		{"other module is denied", []string{"run", "--config", cfg,
			writeFile(t, dir, "reader.lua", `local s, err = require("store").get("app:data") print(s, err:kind())`)}, 0,
			"nil\tPermissionDenied\n", []string{"permission denied"}, false},
		{"config error exits 2", []string{"run", "--config", badCfg, "../../examples/hello.lua"}, 2,
			"", []string{`store "app:data": unknown kind "floppy"`}, false},
		{"invalid policy exits 2 naming it", []string{"run", "--config", badPolicy, "../../examples/hello.lua"}, 2,
			"", []string{"p1", "effect"}, false},
		{"missing config file exits 2", []string{"run", "--config", filepath.Join(dir, "nope.yaml"), "../../examples/hello.lua"}, 2,
			"", []string{"nope.yaml"}, false},
		{"missing script exits 2", []string{"run", filepath.Join(dir, "nope.lua")}, 2, "", []string{"nope.lua"}, false},
		{"no command exits 2", []string{}, 2, "", []string{"usage:", "wasmkv run", "wasmkv version", "wasmkv help"}, false},
		{"unknown command exits 2", []string{"frob"}, 2, "", []string{`unknown command "frob"`, "usage:"}, false},
		{"unknown flag exits 2", []string{"run", "--frobnicate", "x.lua"}, 2, "", []string{"frobnicate"}, false},
		{"no file exits 2", []string{"run"}, 2, "", []string{"usage:"}, false},
		// The limit flags are checked by the ranges of the config's limits, before any run.
		{"memory limit below the guest's need exits 2", []string{"run", "--memory-limit", "1MiB", "../../examples/hello.lua"}, 2,
			"", []string{"--memory-limit: memory_limit 1MiB is out of range: 16MiB to 4GiB"}, false},
		{"memory limit past 4GiB exits 2", []string{"run", "--memory-limit", "100GiB", "../../examples/hello.lua"}, 2,
			"", []string{"--memory-limit: memory_limit 100GiB is out of range: 16MiB to 4GiB"}, false},
		{"negative timeout exits 2", []string{"run", "--timeout", "-1s", "../../examples/hello.lua"}, 2,
			"", []string{"--timeout: timeout -1s is out of range: 1ms to 24h0m0s"}, false},
		{"output limit past 1GiB exits 2", []string{"run", "--output-limit", "2GiB", "../../examples/hello.lua"}, 2,
			"", []string{"--output-limit: output_limit 2GiB is out of range: 1B to 1GiB"}, false},
		{"nesting redis key prefixes exit 2", []string{"run", "--config",
			writeFile(t, dir, "nest.yaml", "stores:\n  a: {kind: redis, key_prefix: \"x:\"}\n  b: {kind: redis, key_prefix: \"x:k:vault:\"}\n"), "../../examples/hello.lua"}, 2,
			"", []string{`stores "a" and "b": key prefixes "x:" and "x:k:vault:" on server 127.0.0.1:6379/0 nest`}, false},
		{"a null policy entry exits 2", []string{"run", "--config",
			writeFile(t, dir, "nullpolicy.yaml", "policies:\n  -\n"), "../../examples/hello.lua"}, 2,
			"", []string{"policies[0] is empty"}, false},
		{"cleanup interval of 1ns exits 2", []string{"run", "--config",
			writeFile(t, dir, "spin.yaml", "stores:\n  a: {kind: memory, cleanup_interval: 1ns}\n"), "../../examples/hello.lua"}, 2,
			"", []string{`store "a": cleanup_interval 1ns is out of range: 1s to 24h0m0s`}, false},
		{"a config memory limit below the guest's need exits 2", []string{"run", "--config",
			writeFile(t, dir, "lowmem.yaml", "modules:\n  hello: {memory_limit: 1MiB}\n"), "../../examples/hello.lua"}, 2,
			"", []string{`module "hello": memory_limit 1MiB is out of range: 16MiB to 4GiB`}, false},
	}
	cases = append(cases, struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  []string
		stderrNone bool
	}{"unknown guest exits 2", []string{"run", "--guest", "luajit", "../../examples/hello.lua"}, 2, "", []string{`unknown guest "luajit"`}, false})
	// Every case runs on each Lua guest, each time in a fresh process state.
	for _, guest := range []string{host.GuestGopherLua, host.GuestPucLua} {
		t.Run(guest, func(t *testing.T) {
			closeHosts()
			t.Cleanup(closeHosts)
			for _, tc := range cases {
				args := tc.args
				if len(args) > 1 && args[0] == "run" && !slices.Contains(args, "--guest") {
					args = append([]string{"run", "--guest", guest}, args[1:]...)
				}
				testCLICase(t, tc.name, args, tc.code, tc.stdout, tc.stderrHas, tc.stderrNone)
			}
		})
	}
}

func testCLICase(t *testing.T, name string, args []string, wantCode int, wantStdout string, stderrHas []string, stderrNone bool) {
	t.Run(name, func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		assert.Equal(t, wantCode, code, "stderr: %s", stderr.String())
		assert.Equal(t, wantStdout, stdout.String())
		for _, s := range stderrHas {
			assert.Contains(t, stderr.String(), s)
		}
		if stderrNone {
			assert.Empty(t, stderr.String())
		}
	})
}

// closeHosts forgets the hosts of earlier runs, as a new process would.
func closeHosts() {
	hostsMu.Lock()
	defer hostsMu.Unlock()
	for k, h := range hosts {
		h.Close(context.Background())
		delete(hosts, k)
	}
}

// TestCLIStoreOutlivesRun: two runs in one process share the store, because the
// values live on the host, not in the instance.
func TestCLISharedStoreAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	w := writeFile(t, dir, "w.lua", `local c = require("store").get("app:cache") c:set("shared", "kept")`)
	r := writeFile(t, dir, "r.lua", `local c = require("store").get("app:cache") print(c:get("shared"))`)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"run", w}, nil, &stdout, &stderr), stderr.String())
	require.Equal(t, 0, run(context.Background(), []string{"run", r}, nil, &stdout, &stderr), stderr.String())
	assert.Equal(t, "kept\n", stdout.String())
}

// cli runs the CLI in process with stdin and returns its exit code and output.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestVersion: wasmkv version and --version print the module and Go versions and the
// sha256 of the embedded Lua guest, which the test computes itself from the committed
// artifact.
func TestVersion(t *testing.T) {
	gz, err := os.ReadFile("../../host/guest.wasm.gz")
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	wasm, err := io.ReadAll(zr)
	require.NoError(t, err)
	guestLine := fmt.Sprintf("guest guest.wasm sha256:%x %d bytes\n", sha256.Sum256(wasm), len(wasm))

	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, stdout, stderr := cli(t, "", args...)
		assert.Equal(t, 0, code, args)
		assert.Empty(t, stderr, args)
		lines := strings.SplitAfter(stdout, "\n")
		// A test binary has no module version of its own: (devel) or (unknown).
		assert.Regexp(t, `^wasmkv \S+ `+runtime.Version()+`( revision [0-9a-f]+)?\n$`, lines[0], args)
		assert.Contains(t, lines[1:], guestLine, args)
	}
	code, _, stderr := cli(t, "", "version", "extra")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage: wasmkv version")
}

// TestHelp: wasmkv help [command] prints to stdout and exits 0; an unknown command is a
// usage error.
func TestHelp(t *testing.T) {
	cases := []struct {
		args []string
		has  []string
	}{
		{[]string{"help"}, []string{"wasmkv run [flags]", "wasmkv version", "wasmkv help [command]", "Exit codes"}},
		{[]string{"--help"}, []string{"wasmkv run [flags]", "wasmkv help [command]"}},
		{[]string{"-h"}, []string{"wasmkv run [flags]"}},
		{[]string{"help", "run"}, []string{"usage: wasmkv run", "-memory-limit", "-output-limit", "-timeout", "-config", "-module", "reads it from standard input", "124"}},
		{[]string{"help", "version"}, []string{"usage: wasmkv version", "sha256"}},
		{[]string{"help", "help"}, []string{"usage: wasmkv help [command]"}},
	}
	for _, tc := range cases {
		code, stdout, stderr := cli(t, "", tc.args...)
		assert.Equal(t, 0, code, tc.args)
		assert.Empty(t, stderr, tc.args)
		for _, s := range tc.has {
			assert.Contains(t, stdout, s, tc.args)
		}
	}
	code, stdout, stderr := cli(t, "", "run", "-h")
	assert.Equal(t, 0, code, "asking for help is no error")
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "usage: wasmkv run")

	code, _, stderr = cli(t, "", "help", "frob")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "frob"`)
	code, _, _ = cli(t, "", "help", "run", "extra")
	assert.Equal(t, 2, code)
}

// TestRunStdin: wasmkv run - reads the script from stdin, as lua - does: its chunk name
// is stdin, the module defaults to stdin, and the arguments after - reach it.
func TestRunStdin(t *testing.T) {
	code, stdout, stderr := cli(t, `print(select("#", ...), ...) error("boom")`, "run", "-", "a", "b")
	assert.Equal(t, 1, code)
	assert.Equal(t, "2\ta\tb\n", stdout)
	assert.Contains(t, stderr, "wasmkv: stdin: Unknown: stdin:1: boom")

	code, stdout, stderr = cli(t, `print(require("store").get("app:cache"):set("k", 1))`, "run", "--module", "web", "-")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "true\n", stdout)

	// A wasm module on stdin runs as a guest: the raw WAT plugin stores its greeting.
	code, _, stderr = cli(t, `require("store").get("app:cache"):delete("wat:hello")`, "run", "-")
	require.Equal(t, 0, code, stderr)
	wasm, err := os.ReadFile("../../examples/plugin-wat/plugin.wasm")
	require.NoError(t, err)
	code, _, stderr = cli(t, string(wasm), "run", "-")
	assert.Equal(t, 0, code, stderr)
	code, stdout, stderr = cli(t, `print(require("store").get("app:cache"):get("wat:hello"))`, "run", "-")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "hello from wat\n", stdout)

	code, _, stderr = cli(t, "", "run", "-")
	assert.Equal(t, 0, code, "an empty chunk is a valid script, as in lua: %s", stderr)
}

// TestCLIErrorMessageBounded: a script that raises a 10 MB string writes a bounded
// message to stderr (it used to write all of it, past --output-limit).
func TestCLIErrorMessageBounded(t *testing.T) {
	f := writeFile(t, t.TempDir(), "bigerr.lua", `error(string.rep("x", 10000000), 0)`)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--output-limit", "1KiB", f}, nil, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "bigerr: Unknown: xxxx")
	assert.Contains(t, stderr.String(), "… [truncated, 100000")
	assert.LessOrEqual(t, stderr.Len(), abi.MaxErrorMessageBytes+100)
}

// nestedBlocks and manyLocals are hostile modules (see host/hostile_compile_test.go):
// one function of n nested blocks, and one declaring n i64 locals.
func nestedBlocks(n int) []byte {
	body := append(bytes.Repeat([]byte{0x02, 0x40}, n), bytes.Repeat([]byte{0x0b}, n+1)...)
	return oneFunc([]byte{0}, body)
}

func manyLocals(n uint64) []byte {
	return oneFunc(append(append([]byte{1}, uleb(n)...), 0x7e), []byte{0x0b})
}

func oneFunc(locals, body []byte) []byte {
	section := func(id byte, b []byte) []byte { return append(append([]byte{id}, uleb(uint64(len(b)))...), b...) }
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, []byte{1, 0x60, 0, 0})...)
	m = append(m, section(3, []byte{1, 0})...)
	fn := append(append([]byte{}, locals...), body...)
	return append(m, section(10, append([]byte{1}, append(uleb(uint64(len(fn))), fn...)...))...)
}

func uleb(v uint64) []byte {
	var b []byte
	for ; v >= 0x80; v >>= 7 {
		b = append(b, byte(v)|0x80)
	}
	return append(b, byte(v))
}
