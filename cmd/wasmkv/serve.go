package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/wasmkv/wasmkv/host"
	"github.com/wasmkv/wasmkv/serve"
)

const serveUsage = `usage: wasmkv serve --config FILE [--listen ADDR] [--admin ADDR]`

// runServe is `wasmkv serve`: it serves the config's routes until SIGTERM or SIGINT (or
// ctx), then drains; SIGHUP reloads the config. Exit codes: 0 after a clean drain, 1 when
// serving failed or requests were cut off, 2 for usage and configuration errors.
func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("wasmkv serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, serveUsage); fs.PrintDefaults() }
	configPath := fs.String("config", "", "configuration file (YAML) with routes")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the routes")
	adminAddr := fs.String("admin", "127.0.0.1:9090", "address of /metrics, /healthz and /readyz")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *configPath == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, serveUsage)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	s, err := serve.New(ctx, *configPath, serve.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		var ce *serve.ConfigError
		var hce *host.ConfigError
		var ge *host.GuestError
		if errors.As(err, &ce) || errors.As(err, &hce) || errors.As(err, &ge) {
			return exitUsage
		}
		return exitScript
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		s.Close(ctx)
		return exitUsage
	}
	adm, err := net.Listen("tcp", *adminAddr)
	if err != nil {
		fmt.Fprintf(stderr, "wasmkv: %v\n", err)
		ln.Close()
		s.Close(ctx)
		return exitUsage
	}
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = s.Reload(sctx) // Reload logs its outcome
			case <-sctx.Done():
				return
			}
		}
	}()
	if err := s.ListenAndServe(sctx, ln, adm); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitScript
	}
	log.Info("stopped")
	return exitOK
}
