// Package sdk is the Go guest SDK: a typed store API for Go programs built with
// GOOS=wasip1, over the ABI exchange of guest/hostcall. Values are Go values, encoded
// and decoded by package govalue. Outside wasm it builds, and every call fails.
package sdk

import (
	"errors"
	"fmt"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/govalue"
	"github.com/wasmkv/wasmkv/guest/hostcall"
)

// client is the guest's one connection to its host, through the wasm imports.
var client = hostcall.NewClient(hostcall.NewWasm())

// Call sends req and decodes the host's answer into resp; see hostcall.Client.Call. It
// must not be called concurrently.
func Call(req *abi.Request, resp *abi.Response) *abi.Error { return client.Call(req, resp) }

// Error is an error from the host: it carries a kind (abi.NotFound, abi.PermissionDenied,
// ...), a message and a retryable flag. Use errors.As, or IsKind.
type Error = abi.Error

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k abi.Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// asError turns a nil *abi.Error into a nil error.
func asError(e *abi.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// Store is a handle on a store of the host's registry.
type Store struct {
	handle   uint32
	released bool
}

// Open acquires the store with this id (the store.get permission).
func Open(id string) (*Store, error) {
	if id == "" {
		return nil, abi.NewError(abi.Invalid, "store id is empty")
	}
	var resp abi.Response
	if e := Call(&abi.Request{Op: abi.OpOpen, ID: id}, &resp); e != nil {
		return nil, e
	}
	return &Store{handle: resp.Handle}, nil
}

var errReleased = abi.NewError(abi.Invalid, "store is released")

func (s *Store) call(req *abi.Request) (*abi.Response, error) {
	if s.released {
		return nil, errReleased
	}
	req.Handle = s.handle
	var resp abi.Response
	if e := Call(req, &resp); e != nil {
		return nil, e
	}
	return &resp, nil
}

// encode encodes a Go value as a stored value.
func encode(v any) ([]byte, error) {
	b, err := govalue.Marshal(v)
	if err != nil {
		return nil, abi.NewError(abi.Invalid, "value: "+err.Error())
	}
	return b, nil
}

// decode decodes a stored value into v (a pointer), as govalue reads it.
func decode(b []byte, v any) error {
	if v == nil {
		return nil
	}
	if err := govalue.Unmarshal(b, v); err != nil {
		return abi.NewError(abi.Invalid, "value: "+err.Error())
	}
	return nil
}

// ttlMillis converts a ttl to the wire's milliseconds; a positive ttl lasts at least 1 ms.
func ttlMillis(ttl time.Duration) int64 {
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	return ms
}

// Get decodes the value of key into v. A missing key is an *Error of kind abi.NotFound.
func (s *Store) Get(key string, v any) error {
	resp, err := s.call(&abi.Request{Op: abi.OpGet, Key: []byte(key)})
	if err != nil {
		return err
	}
	return decode(resp.Value, v)
}

// Set stores v under key; ttl 0 means no expiry.
func (s *Store) Set(key string, v any, ttl time.Duration) error {
	val, err := encode(v)
	if err != nil {
		return err
	}
	_, err = s.call(&abi.Request{Op: abi.OpSet, Key: []byte(key), Value: val, TTL: ttlMillis(ttl)})
	return err
}

// Has reports whether key holds a live value.
func (s *Store) Has(key string) (bool, error) {
	resp, err := s.call(&abi.Request{Op: abi.OpHas, Key: []byte(key)})
	if err != nil {
		return false, err
	}
	return resp.OK, nil
}

// Delete removes key and reports whether a live value was removed.
func (s *Store) Delete(key string) (bool, error) {
	resp, err := s.call(&abi.Request{Op: abi.OpDelete, Key: []byte(key)})
	if err != nil {
		return false, err
	}
	return resp.OK, nil
}

// Entry is a key with its version and remaining time to live (0: no expiry). Its value
// is decoded into the pointer the call was given.
type Entry struct {
	Key     string
	Version string
	TTL     time.Duration
}

func entryOf(e *abi.Entry, v any) (Entry, error) {
	if e == nil {
		return Entry{}, abi.NewError(abi.Internal, "sdk: host sent no entry")
	}
	out := Entry{Key: string(e.Key), Version: e.Version}
	if e.TTL != nil {
		out.TTL = time.Duration(*e.TTL) * time.Millisecond
	}
	return out, decode(e.Value, v)
}

// Entry reads key with its version and ttl, decoding its value into v.
func (s *Store) Entry(key string, v any) (Entry, error) {
	resp, err := s.call(&abi.Request{Op: abi.OpEntry, Key: []byte(key)})
	if err != nil {
		return Entry{}, err
	}
	return entryOf(resp.Entry, v)
}

// PutOptions are the conditions of a Put. OnlyIfAbsent and IfVersion exclude each other.
type PutOptions struct {
	TTL          time.Duration
	OnlyIfAbsent bool   // fail with abi.AlreadyExists when the key is live
	IfVersion    string // fail with abi.Conflict unless the key has this version
}

// Put is a conditional Set; it returns the new entry.
func (s *Store) Put(key string, v any, opts PutOptions) (Entry, error) {
	val, err := encode(v)
	if err != nil {
		return Entry{}, err
	}
	req := &abi.Request{Op: abi.OpPut, Key: []byte(key), Value: val, TTL: ttlMillis(opts.TTL), OnlyIfAbsent: opts.OnlyIfAbsent}
	if opts.IfVersion != "" {
		req.IfVersion = &opts.IfVersion
	}
	resp, err := s.call(req)
	if err != nil {
		return Entry{}, err
	}
	return entryOf(resp.Entry, nil)
}

// Incr adds delta to the number at key and returns the new number. A missing key starts
// at 0 and then takes ttl.
func (s *Store) Incr(key string, delta float64, ttl time.Duration) (float64, error) {
	resp, err := s.call(&abi.Request{Op: abi.OpIncr, Key: []byte(key), Delta: delta, TTL: ttlMillis(ttl)})
	if err != nil {
		return 0, err
	}
	n, ok := abi.DecodeNumber(resp.Value)
	if !ok {
		return 0, abi.NewError(abi.Internal, "sdk: incr returned no number")
	}
	return n, nil
}

// ListOptions select a page: keys with Prefix, after the cursor After, at most Limit
// (0: abi.DefaultListLimit).
type ListOptions struct {
	Prefix, After string
	Limit         int
}

// Page is one page of keys; pass Cursor as the next ListOptions.After while More.
type Page struct {
	Keys   []string
	Cursor string
	More   bool
}

// List returns one page of live keys in byte order.
func (s *Store) List(opts ListOptions) (Page, error) {
	resp, err := s.call(&abi.Request{Op: abi.OpList, Prefix: []byte(opts.Prefix), After: []byte(opts.After), Limit: int64(opts.Limit)})
	if err != nil {
		return Page{}, err
	}
	if resp.Page == nil {
		return Page{}, abi.NewError(abi.Internal, "sdk: host sent no page")
	}
	p := Page{Cursor: string(resp.Page.Cursor), More: resp.Page.More}
	for _, it := range resp.Page.Items {
		p.Keys = append(p.Keys, string(it.Key))
	}
	return p, nil
}

// Info describes the store.
func (s *Store) Info() (abi.Info, error) {
	resp, err := s.call(&abi.Request{Op: abi.OpInfo})
	if err != nil {
		return abi.Info{}, err
	}
	if resp.Info == nil {
		return abi.Info{}, abi.NewError(abi.Internal, "sdk: host sent no info")
	}
	return *resp.Info, nil
}

// Release returns the store to the host's pool; later calls fail with abi.Invalid. It
// may be called again.
func (s *Store) Release() {
	if s.released {
		return
	}
	s.released = true
	var resp abi.Response
	_ = Call(&abi.Request{Op: abi.OpRelease, Handle: s.handle}, &resp)
}

// Task fetches the run's task: its name and arguments (and, for the Lua guest, source).
func Task() (*abi.Task, error) {
	var resp abi.Response
	if e := Call(&abi.Request{Op: abi.OpTask}, &resp); e != nil {
		return nil, e
	}
	if resp.Task == nil {
		return nil, abi.NewError(abi.Internal, "sdk: host sent no task")
	}
	return resp.Task, nil
}

// Finish reports the run's outcome: nil for success, or an error (an *Error keeps its
// kind; any other error is reported as abi.Unknown).
func Finish(err error) {
	var e *abi.Error
	if err != nil && !errors.As(err, &e) {
		e = abi.NewError(abi.Unknown, err.Error())
	}
	var resp abi.Response
	_ = Call(&abi.Request{Op: abi.OpFinish, Err: e}, &resp)
}

// Run is the body of a plugin's exported run function: it fetches the task, calls fn
// with the task's arguments, and reports fn's error. A panic in fn is reported as an
// abi.Internal error rather than trapping the instance.
func Run(fn func(args []string) error) {
	task, err := Task()
	if err != nil {
		Finish(err)
		return
	}
	args := make([]string, len(task.Args))
	for i, a := range task.Args {
		args[i] = string(a)
	}
	Finish(protect(fn, args))
}

func protect(fn func([]string) error, args []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = abi.NewError(abi.Internal, fmt.Sprintf("plugin panicked: %v", r))
		}
	}()
	return fn(args)
}
