package abi_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/wasmkv/wasmkv/abi"
)

// A guest encodes each request with abi.AppendRequest and passes the bytes to the host's
// "call" function. The encoding is deterministic: map keys in core deterministic order.
func ExampleAppendRequest() {
	req := abi.Request{Op: abi.OpGet, Handle: 1, Key: []byte("user:1")}
	b := abi.AppendRequest(nil, &req)
	fmt.Println(hex.EncodeToString(b))
	// Output:
	// a3616801626f7005636b657946757365723a31
}

// A request that stores a value embeds the value's CBOR as is.
func ExampleAppendRequest_set() {
	val := []byte{0xa1, 0x61, 'n', 0x01} // {"n": 1}
	req := abi.Request{Op: abi.OpSet, Handle: 1, Key: []byte("k"), Value: val, TTL: 1500}
	b := abi.AppendRequest(nil, &req)
	fmt.Println(hex.EncodeToString(b))
	// Output:
	// a5616801626f7006636b6579416b6374746c1905dc6376616ca1616e01
}

// The host answers with a response; Err is set exactly when the operation failed.
func ExampleDecodeResponse() {
	// {"err": {"msg": "key \"user:9\" not found", "kind": "NotFound"}}
	b, _ := hex.DecodeString("a163657272a2636d7367766b65792022757365723a3922206e6f7420666f756e64646b696e64684e6f74466f756e64")
	var resp abi.Response
	if err := abi.DecodeResponse(b, &resp); err != nil {
		panic(err)
	}
	fmt.Println(resp.Err)
	fmt.Println(resp.Err.Kind, resp.Err.Retryable)
	// Output:
	// NotFound: key "user:9" not found
	// NotFound false
}

// A successful get carries the stored value as raw CBOR.
func ExampleDecodeResponse_value() {
	b, _ := hex.DecodeString("a16376616ca1616e01") // {"val": {"n": 1}}
	var resp abi.Response
	if err := abi.DecodeResponse(b, &resp); err != nil {
		panic(err)
	}
	fmt.Printf("%v %x\n", resp.Err == nil, resp.Value)
	// Output:
	// true a1616e01
}

// Malformed input is a *DecodeError; the host answers such a request with Invalid.
func ExampleDecodeRequest() {
	var req abi.Request
	err := abi.DecodeRequest([]byte{0xa1, 0x62, 'o', 'p', 0x05, 0x00}, &req) // {"op": 5} and a stray byte
	var de *abi.DecodeError
	fmt.Println(errors.As(err, &de), de.What)
	fmt.Println(err)
	// Output:
	// true request
	// abi: malformed request: 1 bytes after the request (at byte 5)
}

func ExampleParseKind() {
	for _, s := range []string{"NOT_FOUND", "NotFound", "notfound", "rate_limited", "Nope"} {
		k, ok := abi.ParseKind(s)
		fmt.Printf("%q -> %q %v\n", s, k, ok)
	}
	// Output:
	// "NOT_FOUND" -> "NotFound" true
	// "NotFound" -> "NotFound" true
	// "notfound" -> "NotFound" true
	// "rate_limited" -> "RateLimited" true
	// "Nope" -> "" false
}

func ExampleKind_Retryable() {
	for _, n := range abi.KindNames() {
		fmt.Printf("%-17s %-16s %v\n", n.Name, n.Kind, n.Kind.Retryable())
	}
	// Output:
	// INVALID           Invalid          false
	// NOT_FOUND         NotFound         false
	// ALREADY_EXISTS    AlreadyExists    false
	// PERMISSION_DENIED PermissionDenied false
	// UNAVAILABLE       Unavailable      true
	// INTERNAL          Internal         false
	// CANCELED          Canceled         false
	// CONFLICT          Conflict         false
	// TIMEOUT           Timeout          true
	// RATE_LIMITED      RateLimited      true
	// UNKNOWN           Unknown          false
}

func ExampleNewError() {
	e := abi.NewError(abi.Timeout, "store operation timed out")
	fmt.Println(e, e.Retryable)
	// Output:
	// Timeout: store operation timed out true
}

// Numbers are stored as CBOR integers when they are integers within ±2^53, and as
// float64 otherwise.
func ExampleEncodeNumber() {
	for _, f := range []float64{3, -1, 2.5, 1 << 53, 1<<53 + 2} {
		fmt.Printf("%v -> %x\n", f, []byte(abi.EncodeNumber(f)))
	}
	// Output:
	// 3 -> 03
	// -1 -> 20
	// 2.5 -> fb4004000000000000
	// 9.007199254740992e+15 -> 1b0020000000000000
	// 9.007199254740994e+15 -> fb4340000000000001
}

// DecodeNumber reads any CBOR integer within int64 or float; anything else is not a number.
func ExampleDecodeNumber() {
	for _, h := range []string{"03", "20", "f93e00", "fb4004000000000000", "6133", "f6"} {
		b, _ := hex.DecodeString(h)
		f, ok := abi.DecodeNumber(b)
		fmt.Println(h, f, ok)
	}
	// Output:
	// 03 3 true
	// 20 -1 true
	// f93e00 1.5 true
	// fb4004000000000000 2.5 true
	// 6133 0 false
	// f6 0 false
}

func ExampleCheckValue() {
	for _, h := range []string{"a1616e01", "", "0102", "c11a5f5e1000"} {
		b, _ := hex.DecodeString(h)
		fmt.Printf("%q: %v\n", h, abi.CheckValue(b, 1024))
	}
	// Output:
	// "a1616e01": <nil>
	// "": Invalid: value is required
	// "0102": Invalid: value: abi: malformed value: 1 bytes after the value (at byte 1)
	// "c11a5f5e1000": Invalid: value: abi: malformed value: tags are not allowed (at byte 0)
}

func ExampleStatus() {
	for _, s := range []abi.Status{abi.StatusBadPointer, abi.StatusTooLarge, abi.StatusNoPending, abi.StatusOverlap, abi.StatusInternal} {
		fmt.Println(int64(s), s)
	}
	// Output:
	// -1 bad pointer
	// -2 request too large
	// -3 no pending response
	// -4 response buffer overlaps request
	// -5 internal host error
}
