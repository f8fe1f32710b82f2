package abi

import "github.com/fxamacker/cbor/v2"

// Op is a request's operation code.
type Op uint8

// The operations. Codes are stable: a new operation gets a new code.
const (
	// OpTask asks for the task to run. Response: Task.
	OpTask Op = 1
	// OpFinish reports the task's outcome: Err is nil on success. Response: empty.
	OpFinish Op = 2
	// OpOpen acquires the store ID. Response: Handle. Action store.get.
	OpOpen Op = 3
	// OpRelease returns Handle to the pool. Response: OK (always true).
	OpRelease Op = 4
	// OpGet reads Key. Response: Value, or Err NotFound. Action store.key.get.
	OpGet Op = 5
	// OpSet writes Key = Value with TTL. Response: OK. Action store.key.set.
	OpSet Op = 6
	// OpHas checks Key. Response: OK. Action store.key.has.
	OpHas Op = 7
	// OpDelete removes Key. Response: OK is true when a live key was removed. Action store.key.delete.
	OpDelete Op = 8
)

// String names the operation.
func (o Op) String() string {
	switch o {
	case OpTask:
		return "task"
	case OpFinish:
		return "finish"
	case OpOpen:
		return "open"
	case OpRelease:
		return "release"
	case OpGet:
		return "get"
	case OpSet:
		return "set"
	case OpHas:
		return "has"
	case OpDelete:
		return "delete"
	}
	return "unknown"
}

// Request is what a guest sends through [FuncCall]. Fields that an operation does not
// use are left out of the encoding.
type Request struct {
	Op     Op     `cbor:"op"`
	Handle uint32 `cbor:"h,omitempty"`
	// ID is a store id (OpOpen).
	ID string `cbor:"id,omitempty"`
	// Key is binary-safe, so it travels as a byte string.
	Key []byte `cbor:"key,omitempty"`
	// Value is one CBOR data item, embedded as is (not wrapped in a byte string). It
	// must be well-formed under [ValueDecMode].
	Value cbor.RawMessage `cbor:"val,omitempty"`
	// TTL is in milliseconds; 0 means no expiry.
	TTL int64 `cbor:"ttl,omitempty"`
	// Err is the task's failure (OpFinish); nil means success.
	Err *Error `cbor:"err,omitempty"`
}

// Response is what the host writes back. Err is set exactly when the operation failed.
type Response struct {
	Err    *Error          `cbor:"err,omitempty"`
	OK     bool            `cbor:"ok,omitempty"`
	Handle uint32          `cbor:"h,omitempty"`
	Value  cbor.RawMessage `cbor:"val,omitempty"`
	Task   *Task           `cbor:"task,omitempty"`
}

// Task is the work the host gives a guest for one run.
type Task struct {
	// Name is the chunk name used in error positions (the script's file name).
	Name string `cbor:"name"`
	// Source is the script. It is bytes because a Lua chunk need not be UTF-8.
	Source []byte `cbor:"src"`
	// Args are passed to the script as its varargs (...).
	Args [][]byte `cbor:"args,omitempty"`
}
