// Package hostcall is the guest side of the wasmkv ABI's exchange: it encodes a request,
// passes it to the host through a Transport, and decodes the response, with abi's codec.
// The Lua guest (guest/lualib), the Go guest SDK (guest/sdk) and the benchmarks' native
// baseline all call the host through it; only the transport differs (the wasm imports
// in a guest, an in-process host in a benchmark). It is a package of its own so that
// those share it without linking each other's dependencies.
package hostcall

import (
	"bytes"
	"fmt"

	"github.com/wasmkv/wasmkv/abi"
)

// Transport sends one encoded request and returns the encoded response, or a
// [abi.Status] when the exchange failed. The response may alias a buffer of the
// transport that the next Exchange reuses.
type Transport interface {
	Exchange(req []byte) (resp []byte, status abi.Status)
}

// Client calls the host through a transport. A guest is single-threaded, and a Client
// reuses its request buffer: it must not be used concurrently.
type Client struct {
	t      Transport
	reqBuf []byte
}

// NewClient returns a client over t.
func NewClient(t Transport) *Client { return &Client{t: t, reqBuf: make([]byte, 0, 4<<10)} }

// Call sends req and decodes the host's answer into resp. It returns resp.Err, or an
// Internal error when the exchange itself failed.
//
// The byte slices of resp (Value, Entry.Key and Entry.Value, Page.Cursor and the items'
// keys and values) may point into the transport's buffer, which the next Call
// overwrites: use or copy them before calling again. Strings, resp.Err and resp.Task are
// the caller's to keep (Call copies the task's bytes, since the task lasts the whole run).
//
// A finish whose error message is longer than abi.MaxErrorMessageBytes sends it cut
// (abi.CutMessage), so that the outcome always fits in a request; a request that is
// still longer than abi.MaxRequestBytes is not sent: it is the caller's key or value, and
// Invalid.
func (c *Client) Call(req *abi.Request, resp *abi.Response) *abi.Error {
	if req.Op == abi.OpFinish && req.Err != nil && len(req.Err.Message) > abi.MaxErrorMessageBytes {
		cut := *req.Err
		cut.Message = abi.CutMessage(cut.Message)
		r := *req
		r.Err = &cut
		req = &r
	}
	c.reqBuf = abi.AppendRequest(c.reqBuf[:0], req)
	if len(c.reqBuf) > abi.MaxRequestBytes {
		// The host would refuse to read it (StatusTooLarge), which reads as a failure of
		// the exchange. The buffer that grew to hold it is dropped.
		n := len(c.reqBuf)
		c.reqBuf = make([]byte, 0, 4<<10)
		return abi.NewError(abi.Invalid, fmt.Sprintf("request is %d bytes, more than the %d a request may carry: the key or value is too large", n, abi.MaxRequestBytes))
	}
	b, status := c.t.Exchange(c.reqBuf)
	if status < 0 {
		return abi.NewError(abi.Internal, fmt.Sprintf("sdk: host call failed: %v", status))
	}
	if err := abi.DecodeResponse(b, resp); err != nil {
		return abi.NewError(abi.Internal, "sdk: "+err.Error())
	}
	if t := resp.Task; t != nil {
		t.Source = bytes.Clone(t.Source)
		t.Input = bytes.Clone(t.Input)
		for i, a := range t.Args {
			t.Args[i] = bytes.Clone(a)
		}
	}
	return resp.Err
}

// Wasm is the transport of a wasm guest: the imports of abi.ModuleName and the memory
// protocol of docs/abi.md, with one response buffer that grows to the largest response
// seen. Outside wasm every exchange fails with StatusInternal, so that the packages that
// use it build and vet everywhere.
type Wasm struct{ respBuf []byte }

// NewWasm returns the wasm transport with a 64 KiB response buffer.
func NewWasm() *Wasm { return &Wasm{respBuf: make([]byte, 64<<10)} }

// Exchange calls the host's call function, and its take function when the response did
// not fit.
func (w *Wasm) Exchange(req []byte) ([]byte, abi.Status) {
	n := callHost(req, w.respBuf)
	if n > int64(len(w.respBuf)) {
		w.respBuf = make([]byte, n)
		n = takeHost(w.respBuf)
	}
	if n < 0 {
		return nil, abi.Status(n)
	}
	if n > int64(len(w.respBuf)) {
		// take promised the length that call returned; a host that breaks that must not
		// make the guest slice past its buffer.
		return nil, abi.StatusInternal
	}
	return w.respBuf[:n], 0
}
