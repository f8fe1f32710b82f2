package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Redis is a throwaway redis-server for the EVAL baseline: its own process on a free
// loopback port, with its working directory in a temp dir and no persistence. It is
// talked to with a minimal RESP client over one connection.
type Redis struct {
	Addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	log  bytes.Buffer
	conn *respConn
}

// StartRedis starts redis-server (from PATH, else /usr/bin/redis-server).
func StartRedis() (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		bin = "/usr/bin/redis-server"
		if _, serr := os.Stat(bin); serr != nil {
			return nil, fmt.Errorf("bench: redis-server not found (%v); `make tools` installs it", err)
		}
	}
	var lastErr error
	for range 5 { // a probed free port may be taken before the server binds it
		r, err := startRedis(bin)
		if err == nil {
			return r, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startRedis(bin string) (*Redis, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "wasmkv-bench-redis-")
	if err != nil {
		return nil, err
	}
	r := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
	r.cmd.Stdout, r.cmd.Stderr = &r.log, &r.log
	if err := r.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.Addr, time.Second)
		if err == nil {
			r.conn = newRESP(c)
			if _, err = r.conn.do("PING"); err == nil {
				return r, nil
			}
			c.Close()
		}
		select {
		case <-r.done:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("bench: redis-server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			r.Close()
			return nil, fmt.Errorf("bench: redis-server on %s did not answer: %v", r.Addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close stops the server (SIGTERM, then SIGKILL after 5 s) and removes its directory.
func (r *Redis) Close() error {
	if r.conn != nil {
		r.conn.c.Close()
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	return os.RemoveAll(r.dir)
}

// Eval runs EVAL script with no keys and args, and returns the reply and the round
// trip's duration.
func (r *Redis) Eval(script string, args ...string) (any, time.Duration, error) {
	cmd := append([]string{"EVAL", script, "0"}, args...)
	start := time.Now()
	v, err := r.conn.do(cmd...)
	return v, time.Since(start), err
}

// respConn is a minimal RESP2 client: commands as arrays of bulk strings; replies of
// the five RESP2 types.
type respConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func newRESP(c net.Conn) *respConn {
	return &respConn{c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
}

// redisError is an error reply.
type redisError string

func (e redisError) Error() string { return "redis: " + string(e) }

func (c *respConn) do(args ...string) (any, error) {
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	v, err := c.read()
	if err != nil {
		return nil, err
	}
	if e, ok := v.(redisError); ok {
		return nil, e
	}
	return v, nil
}

func (c *respConn) line() ([]byte, error) {
	b, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(b) < 3 || b[len(b)-2] != '\r' {
		return nil, errors.New("redis: malformed reply line")
	}
	return b[:len(b)-2], nil
}

func (c *respConn) read() (any, error) {
	b, err := c.line()
	if err != nil {
		return nil, err
	}
	switch b[0] {
	case '+':
		return string(b[1:]), nil
	case '-':
		return redisError(b[1:]), nil
	case ':':
		return strconv.ParseInt(string(b[1:]), 10, 64)
	case '$':
		n, err := strconv.Atoi(string(b[1:]))
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(string(b[1:]))
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redis: unknown reply type %q", b[0])
}
