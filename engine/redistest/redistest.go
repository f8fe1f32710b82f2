// Package redistest starts a real redis-server for tests: its own process on
// a free loopback port, with its data in a temp dir, stopped when the test
// ends. Tests never mock Redis.
//
// redis-server must be on PATH; `make test` installs it with apt-get when it
// is missing. Without it the test fails (it is never skipped), so a CI that
// forgot to install it cannot pass silently.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure StartServer.
type Options struct {
	// AppendOnly runs the server with --appendonly yes (fsync every second,
	// and a final fsync on a clean shutdown), so that its data survives a
	// Stop and Start on the same Dir.
	AppendOnly bool
	// Dir is the server's working directory; a fresh t.TempDir() when empty.
	Dir string
	// Args are extra redis-server arguments, such as "--maxmemory", "1mb".
	Args []string
}

// Server is one redis-server process that can be stopped and started again
// on the same port and directory.
type Server struct {
	// Addr is host:port, stable across Stop and Start.
	Addr string
	// Dir holds the server's data files.
	Dir string

	t    testing.TB
	opts Options
	port int

	mu   sync.Mutex
	proc *process // nil while stopped
	log  *lockedWriter
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// readyTimeout bounds how long a starting server may take to answer.
const readyTimeout = 10 * time.Second

// Start starts a throwaway server (no persistence) and returns its address.
func Start(t testing.TB) string {
	t.Helper()
	return StartServer(t, Options{}).Addr
}

// StartServer starts a server with opts and stops it when the test ends.
func StartServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redistest: redis-server is not on PATH (%v); `make test` installs it with apt-get (package redis-server)", err)
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s := &Server{Dir: opts.Dir, t: t, opts: opts}
	// A free port can be taken by someone else between our probe and the
	// server's bind: try a few ports before giving up.
	var lastErr error
	for range 5 {
		s.port = freePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// Start starts the stopped server again on the same port and directory. It
// fails the test if the server does not come up.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return fmt.Errorf("server on %s is already running", s.Addr)
	}
	appendonly := "no"
	if s.opts.AppendOnly {
		appendonly = "yes"
	}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--save", "",
		"--appendonly", appendonly,
		"--daemonize", "no",
		"--logfile", "",
	}
	args = append(args, s.opts.Args...)
	log := &lockedWriter{}
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := waitReady(s.Addr, p.done); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("redis-server on %s did not become ready: %v\n%s", s.Addr, err, log.String())
	}
	s.proc, s.log = p, log
	return nil
}

// Stop shuts the server down (SIGTERM, so an append-only file is flushed)
// and waits for it to exit. It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(readyTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Log returns what the current (or last) server process printed.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

// waitReady polls the server until it answers a command that is refused
// while a dataset is loading, so that a restarted server is ready with its
// data, not just listening.
func waitReady(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited")
		default:
		}
		if lastErr = ping(addr); lastErr == nil {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return lastErr
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	// EXISTS is not allowed while loading (PING is), so a ":" reply means
	// the dataset is in memory.
	if _, err := c.Write([]byte("EXISTS redistest:ready\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, ":") {
		return fmt.Errorf("not ready: %q", strings.TrimSpace(line))
	}
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedWriter lets the server's output be read while it is written.
type lockedWriter struct {
	mu sync.Mutex
	w  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
