// Command gzip compresses standard input to standard output at the best compression,
// with an empty gzip header (no file name, no modification time). `make guest` uses it
// for the guest artifacts that package host embeds and the repository commits: the
// output depends only on the input and the Go toolchain, not on the machine's gzip or
// clock, so CI can rebuild an artifact and compare it byte for byte.
package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := compress(os.Stdout, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "gzip:", err)
		os.Exit(1)
	}
}

func compress(dst io.Writer, src io.Reader) error {
	zw, err := gzip.NewWriterLevel(dst, gzip.BestCompression)
	if err != nil {
		return err
	}
	// The zero header: no name, no mtime, OS "unknown" (255) on every platform.
	if _, err := io.Copy(zw, src); err != nil {
		return err
	}
	return zw.Close()
}
