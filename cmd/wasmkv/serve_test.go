package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeBinarySignals runs wasmkv serve as a process: SIGHUP reloads, and SIGTERM
// drains a request in flight to its answer before the process exits 0.
func TestServeBinarySignals(t *testing.T) {
	if args := os.Getenv("WASMKV_TEST_SERVE_ARGS"); args != "" {
		os.Exit(runServe(context.Background(), strings.Fields(args), os.Stderr))
	}
	dir := t.TempDir()
	writeFile(t, dir, "work.lua", `local n = 0; for i = 1, 2e5 do n = n + i end; return tostring(n)`)
	cfg := writeFile(t, dir, "wasmkv.yaml", "routes:\n  - {method: GET, path: /work, module: w, script: work.lua}\n")
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeBinarySignals$")
	cmd.Env = append(os.Environ(), "WASMKV_TEST_SERVE_ARGS=--config "+filepath.Clean(cfg)+" --listen 127.0.0.1:0 --admin 127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()

	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log strings.Builder
	expect := func(re string) []string {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("process ended without %q; log:\n%s", re, log.String())
				}
				log.WriteString(l + "\n")
				if m := regexp.MustCompile(re).FindStringSubmatch(l); m != nil {
					return m
				}
			case <-timeout:
				t.Fatalf("no %q in the log:\n%s", re, log.String())
			}
		}
	}
	m := expect(`msg=serving listen=(\S+) admin=(\S+)`)
	base, admin := "http://"+m[1], "http://"+m[2]

	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	expect(`msg=reloaded`)

	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/work")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode, body: string(b)}
	}()
	// Wait until the run holds its slot, then ask the process to stop.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(admin + "/metrics")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), `wasmkv_runs_in_flight{module="w"} 1`) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the request never ran")
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, 200, r.code)
	assert.Equal(t, "20000100000", r.body)
	expect(`msg=stopped`)
	require.NoError(t, cmd.Wait(), "exit code 0 after a clean drain")
}

func TestServeUsageAndConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "routes:\n  - {method: GET, path: /a, module: m, script: missing.lua}\n")
	var stderr strings.Builder
	assert.Equal(t, exitUsage, run(context.Background(), []string{"serve"}, strings.NewReader(""), io.Discard, &stderr))
	assert.Equal(t, exitUsage, run(context.Background(), []string{"serve", "--config", bad}, strings.NewReader(""), io.Discard, &stderr))
	assert.Contains(t, stderr.String(), "missing.lua")
}
