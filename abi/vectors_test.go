package abi_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"

	"github.com/wasmkv/wasmkv/abi"
)

// update regenerates the vectors from the cases below:
//
//	go test ./abi/ -run TestVectors -update
var update = flag.Bool("update", false, "rewrite abi/testdata/vectors from the cases in vectors_test.go")

const vectorDir = "testdata/vectors"

// vectorFile is the layout of <name>.json, documented in docs/abi.md ("Test vectors").
type vectorFile struct {
	// Type is "request" (decode with abi.DecodeRequest into abi.Request) or "response"
	// (abi.DecodeResponse into abi.Response).
	Type        string `json:"type"`
	Description string `json:"description"`
	// Hex is <name>.cbor in lowercase hex, for reading; the .cbor file is normative.
	Hex string `json:"hex"`
	// Diag is the RFC 8949 §8 diagnostic notation of the .cbor (byte strings as h'..',
	// floats with their width suffix: _1 half, _2 single, _3 double).
	Diag string `json:"diag"`
	// Message is the decoded Go struct as encoding/json writes it: Go field names,
	// []byte in standard base64, absent pointers as null.
	Message json.RawMessage `json:"message"`
}

type vector struct {
	name, desc string
	msg        any // *abi.Request or *abi.Response
}

func ptr[T any](v T) *T { return &v }

// cborOf encodes a Go value, for the values embedded in the cases.
func cborOf(v any) []byte { return valueOf(v) }

// userValue is a typical stored value: a map with text, an integer and an array.
var userValue = cborOf(map[string]any{"name": "Alice", "age": 30, "tags": []string{"a", "b"}})

func vectors() []vector {
	return []vector{
		// Requests, one per operation and option.
		{"req_task", "op task: ask for the run's task", &abi.Request{Op: abi.OpTask}},
		{"req_finish_ok", "op finish: the task succeeded", &abi.Request{Op: abi.OpFinish}},
		{"req_finish_result", "op finish of a task that asked for a result: the script returned a table",
			&abi.Request{Op: abi.OpFinish, Value: cborOf(map[string]any{"status": 201, "body": "made"})}},
		{"req_finish_returned_err", "op finish of a task that asked for a result: the script returned nil, err (a raised error sends no val)",
			&abi.Request{Op: abi.OpFinish, Value: cborOf(nil), Err: abi.NewError(abi.NotFound, "no session s1")}},
		{"req_finish_err", "op finish: the task failed with a retryable error",
			&abi.Request{Op: abi.OpFinish, Err: &abi.Error{Kind: abi.Unavailable, Message: "upstream down", Retryable: true}}},
		{"req_open", "op open: acquire store app:cache", &abi.Request{Op: abi.OpOpen, ID: "app:cache"}},
		{"req_release", "op release: return handle 1", &abi.Request{Op: abi.OpRelease, Handle: 1}},
		{"req_get", "op get: read key user:1", &abi.Request{Op: abi.OpGet, Handle: 1, Key: []byte("user:1")}},
		{"req_set_ttl", "op set: write a map value with a ttl of 60 s",
			&abi.Request{Op: abi.OpSet, Handle: 1, Key: []byte("user:1"), Value: userValue, TTL: 60000}},
		{"req_set_binary_key", "op set: a key that is not UTF-8, a float value, no ttl",
			&abi.Request{Op: abi.OpSet, Handle: 2, Key: []byte{0x00, 0xff, 'k'}, Value: abi.EncodeNumber(2.5)}},
		{"req_has", "op has: check key user:1", &abi.Request{Op: abi.OpHas, Handle: 1, Key: []byte("user:1")}},
		{"req_delete", "op delete: remove key user:1", &abi.Request{Op: abi.OpDelete, Handle: 1, Key: []byte("user:1")}},
		{"req_entry", "op entry: read key user:1 with its version and ttl",
			&abi.Request{Op: abi.OpEntry, Handle: 1, Key: []byte("user:1")}},
		{"req_put_only_if_absent", "op put: create key lock only if it is absent, with a ttl of 30 s",
			&abi.Request{Op: abi.OpPut, Handle: 1, Key: []byte("lock"), Value: cborOf("owner-7"), TTL: 30000, OnlyIfAbsent: true}},
		{"req_put_if_version", "op put: replace key doc only if its version is 42; the value is a byte string",
			&abi.Request{Op: abi.OpPut, Handle: 1, Key: []byte("doc"), Value: cborOf([]byte{0x00, 0xff}), IfVersion: ptr("42")}},
		{"req_incr", "op incr: add 1 to key hits; a new key expires in one day",
			&abi.Request{Op: abi.OpIncr, Handle: 1, Key: []byte("hits"), Delta: 1, TTL: 86_400_000}},
		{"req_incr_negative", "op incr: add -0.5 to key score",
			&abi.Request{Op: abi.OpIncr, Handle: 1, Key: []byte("score"), Delta: -0.5}},
		{"req_list", "op list: at most 50 keys starting with user: after user:1",
			&abi.Request{Op: abi.OpList, Handle: 1, Prefix: []byte("user:"), After: []byte("user:1"), Limit: 50}},
		{"req_list_default", "op list: everything, first page of the default size",
			&abi.Request{Op: abi.OpList, Handle: 1}},
		{"req_info", "op info: describe the store", &abi.Request{Op: abi.OpInfo, Handle: 1}},

		// Responses, one per shape.
		{"resp_empty", "the response to finish, and to has or delete when the answer is false",
			&abi.Response{}},
		{"resp_ok", "the response to set, release, and to has or delete when the answer is true",
			&abi.Response{OK: true}},
		{"resp_error", "a failed operation: NotFound, not retryable",
			&abi.Response{Err: abi.NewError(abi.NotFound, `key "user:9" not found`)}},
		{"resp_error_retryable", "a failed if_version: Conflict, which the host marks retryable",
			&abi.Response{Err: &abi.Error{Kind: abi.Conflict, Message: `key "doc" does not have the expected version`, Retryable: true}}},
		{"resp_handle", "the response to open", &abi.Response{Handle: 1}},
		{"resp_value", "the response to get: the stored value as is", &abi.Response{Value: userValue}},
		{"resp_value_number", "the response to incr: the new number, by the number rule",
			&abi.Response{Value: abi.EncodeNumber(3)}},
		{"resp_task", "the response to task",
			&abi.Response{Task: &abi.Task{Name: "hello.lua", Source: []byte("return ...\n"),
				Args: [][]byte{[]byte("a"), {}}, MemoryLimit: 128 << 20}}},
		{"resp_task_input", "the response to task for an HTTP handler: the request as the first argument, and a result wanted",
			&abi.Response{Task: &abi.Task{Name: "session.lua", Source: []byte("return ...\n"),
				Input: cborOf(map[string]any{"method": "GET", "path": "/s/1", "params": map[string]any{"id": "1"}}), Result: true}}},
		{"resp_entry", "the response to entry or put: a key without expiry",
			&abi.Response{Entry: &abi.Entry{Key: []byte("user:1"), Value: userValue, Version: "7"}}},
		{"resp_entry_ttl", "the response to entry or put: a key that expires in 59.998 s",
			&abi.Response{Entry: &abi.Entry{Key: []byte("lock"), Value: cborOf("owner-7"), Version: "8", TTL: ptr(int64(59998))}}},
		{"resp_page", "the response to list: two entries, more to come",
			&abi.Response{Page: &abi.Page{
				Items: []abi.Entry{
					{Key: []byte("user:2"), Value: cborOf(true), Version: "3"},
					{Key: []byte("user:3"), Value: abi.EncodeNumber(-1), Version: "5", TTL: ptr(int64(1000))},
				},
				Cursor: []byte("user:3"),
				More:   true,
			}}},
		{"resp_page_empty", "the response to list when nothing matched and no after was given: cursor is empty",
			&abi.Response{Page: &abi.Page{Items: []abi.Entry{}, Cursor: []byte{}}}},
		{"resp_info", "the response to info for a memory store",
			&abi.Response{Info: &abi.Info{ID: "app:cache", Backend: "MEMORY", Consistency: "LINEARIZABLE",
				List: true, Versioned: true, ConditionalPut: true, TTL: true}}},
	}
}

var diagMode = func() cbor.DiagMode {
	dm, err := cbor.DiagOptions{
		ByteStringEncoding:      cbor.ByteStringBase16Encoding,
		FloatPrecisionIndicator: true,
		MaxNestedLevels:         abi.MaxMessageDepth,
	}.DiagMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

func messageType(msg any) string {
	if _, ok := msg.(*abi.Request); ok {
		return "request"
	}
	return "response"
}

// encode encodes a *abi.Request or *abi.Response with abi's codec.
func encode(msg any) []byte {
	if r, ok := msg.(*abi.Request); ok {
		return abi.AppendRequest(nil, r)
	}
	return abi.AppendResponse(nil, msg.(*abi.Response))
}

func writeVector(t *testing.T, v vector) {
	t.Helper()
	b := encode(v.msg)
	diag, err := diagMode.Diagnose(b)
	require.NoError(t, err)
	msg, err := json.Marshal(v.msg)
	require.NoError(t, err)
	f := vectorFile{Type: messageType(v.msg), Description: v.desc, Hex: hex.EncodeToString(b), Diag: diag, Message: msg}
	js, err := json.MarshalIndent(f, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(vectorDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(vectorDir, v.name+".cbor"), b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(vectorDir, v.name+".json"), append(js, '\n'), 0o644))
}

// TestVectors checks each vector in both directions: the .cbor decodes to the message of
// the .json, and that message encodes with abi.AppendRequest or abi.AppendResponse (and
// with the oracle) to the .cbor, byte for byte.
func TestVectors(t *testing.T) {
	cases := vectors()
	for _, v := range cases {
		t.Run(v.name, func(t *testing.T) {
			if *update {
				writeVector(t, v)
			}
			bin, err := os.ReadFile(filepath.Join(vectorDir, v.name+".cbor"))
			require.NoError(t, err, "missing vector; run go test ./abi/ -run TestVectors -update")
			js, err := os.ReadFile(filepath.Join(vectorDir, v.name+".json"))
			require.NoError(t, err)
			var f vectorFile
			dec := json.NewDecoder(bytes.NewReader(js))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&f))
			require.Equal(t, messageType(v.msg), f.Type)

			// The expected decoded form, from the .json alone.
			var want, got, fromCase any
			switch f.Type {
			case "request":
				var w, g abi.Request
				require.NoError(t, json.Unmarshal(f.Message, &w))
				require.NoError(t, abi.DecodeRequest(bin, &g))
				want, got = &w, &g
			case "response":
				var w, g abi.Response
				require.NoError(t, json.Unmarshal(f.Message, &w))
				require.NoError(t, abi.DecodeResponse(bin, &g))
				want, got = &w, &g
			default:
				t.Fatalf("type %q is neither request nor response", f.Type)
			}
			fromCase = v.msg

			// CBOR -> struct.
			require.Equal(t, want, got, "decoding %s.cbor", v.name)
			// struct -> CBOR, byte for byte, by abi's codec and by the oracle.
			require.Equal(t, hex.EncodeToString(bin), hex.EncodeToString(encode(want)), "encoding %s.json", v.name)
			enc, err := oracleMarshal(want)
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(bin), hex.EncodeToString(enc), "the oracle encoding %s.json", v.name)
			// The readable parts of the .json describe the same bytes.
			require.Equal(t, hex.EncodeToString(bin), f.Hex)
			diag, err := diagMode.Diagnose(bin)
			require.NoError(t, err)
			require.Equal(t, diag, f.Diag)
			// The files are what the case in this test describes.
			require.Equal(t, fromCase, want, "%s.json differs from its case; run with -update if the change is intended", v.name)
			require.Equal(t, v.desc, f.Description)
		})
	}

	t.Run("no stray files", func(t *testing.T) {
		names := make([]string, 0, len(cases))
		for _, v := range cases {
			names = append(names, v.name)
		}
		entries, err := os.ReadDir(vectorDir)
		require.NoError(t, err)
		for _, e := range entries {
			base, ext := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())), filepath.Ext(e.Name())
			require.Contains(t, []string{".cbor", ".json"}, ext, "unexpected file %s", e.Name())
			require.True(t, slices.Contains(names, base), "vector %s has no case in vectors_test.go", e.Name())
		}
	})
}

// TestVectorsAreCanonical checks that every vector is in the form the host and the Go
// guest send, so a guest in another language can compare its output byte for byte:
// re-encoding a decoded message reproduces it.
func TestVectorsAreCanonical(t *testing.T) {
	for _, v := range vectors() {
		b := encode(v.msg)
		var again any
		if _, ok := v.msg.(*abi.Request); ok {
			var r abi.Request
			require.NoError(t, abi.DecodeRequest(b, &r))
			again = &r
		} else {
			var r abi.Response
			require.NoError(t, abi.DecodeResponse(b, &r))
			again = &r
		}
		require.Equal(t, b, encode(again), v.name)
	}
}
