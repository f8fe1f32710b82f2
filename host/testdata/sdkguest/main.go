//go:build wasip1

// Command sdkguest runs the store conformance sequence through the Go SDK. The host's
// tests run it and the same sequence in Lua (conformance.lua), and compare what they
// print: the two guests must see the same results.
package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/sdk"
)

func main() {}

//go:wasmexport run
func run() { sdk.Run(conformance) }

// errText prints an error as the Lua script does: kind and retryable flag.
func errText(err error) string {
	var e *abi.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%s/%v", e.Kind, e.Retryable)
	}
	if err == nil {
		return "nil"
	}
	return "other:" + err.Error()
}

func conformance(args []string) error {
	if _, err := sdk.Open("app:none"); err != nil {
		fmt.Println("open unknown", errText(err))
	}
	s, err := sdk.Open(args[0])
	if err != nil {
		return err
	}
	p := fmt.Println
	p("set", errText(s.Set("user:1", map[string]any{"name": "Alice", "n": 3}, 0)))
	var user struct {
		Name string `cbor:"name"`
		N    int64  `cbor:"n"`
	}
	p("get", errText(s.Get("user:1", &user)), user.Name, user.N)
	var none any
	p("get missing", errText(s.Get("missing", &none)))
	ok, err := s.Has("user:1")
	p("has", ok, errText(err))
	ok, err = s.Has("missing")
	p("has missing", ok, errText(err))
	p("set empty key", errText(s.Set("", 1, 0)))
	p("set ttl", errText(s.Set("ttl", "x", 30*time.Second)))
	var str string
	e, err := s.Entry("ttl", &str)
	p("entry", errText(err), e.Key, str, e.Version != "", e.TTL > 29*time.Second && e.TTL <= 30*time.Second)
	_, err = s.Put("lock", true, sdk.PutOptions{OnlyIfAbsent: true, TTL: 5 * time.Second})
	p("put absent", errText(err))
	_, err = s.Put("lock", true, sdk.PutOptions{OnlyIfAbsent: true})
	p("put absent again", errText(err))
	e, _ = s.Entry("user:1", nil)
	e2, err := s.Put("user:1", "v2", sdk.PutOptions{IfVersion: e.Version})
	p("put version", errText(err), e2.Version != e.Version)
	_, err = s.Put("user:1", "v3", sdk.PutOptions{IfVersion: e.Version})
	p("put stale version", errText(err))
	n, err := s.Incr("hits", 1, 0)
	p("incr", n, errText(err))
	n, err = s.Incr("hits", 5, 0)
	p("incr", n, errText(err))
	_, err = s.Incr("user:1", 1, 0)
	p("incr string", errText(err))
	for i := 1; i <= 5; i++ {
		s.Set(fmt.Sprintf("l:%d", i), i, 0)
	}
	page, err := s.List(sdk.ListOptions{Prefix: "l:", Limit: 2})
	p("list", errText(err), page.Keys, page.Cursor, page.More)
	page, err = s.List(sdk.ListOptions{Prefix: "l:", After: page.Cursor})
	p("list next", errText(err), page.Keys, page.More)
	_, err = s.List(sdk.ListOptions{Limit: 1001})
	p("list limit", errText(err))
	ok, err = s.Delete("user:1")
	p("delete", ok, errText(err))
	ok, err = s.Delete("user:1")
	p("delete again", ok, errText(err))
	info, err := s.Info()
	p("info", errText(err), info.Backend, info.Consistency, info.List, info.Versioned)
	s.Release()
	p("after release", errText(s.Set("k", 1, 0)))
	return nil
}
