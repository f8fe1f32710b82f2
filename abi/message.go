package abi

// Op is a request's operation code.
type Op uint8

// The operations. Codes are stable: a new operation gets a new code.
const (
	// OpTask asks for the task to run. Response: Task.
	OpTask Op = 1
	// OpFinish reports the task's outcome: Err is nil on success. Response: empty.
	// When the task asked for a result (Task.Result), Value is the script's first return
	// value: null when it returned nothing, nil, or nil, err; absent when the script
	// raised an error, which is how the host tells a returned error from a raised one.
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
	// OpEntry reads Key with its version and ttl. Response: Entry, or Err NotFound. Action store.key.get.
	OpEntry Op = 9
	// OpPut writes Key = Value with TTL, under the condition OnlyIfAbsent or IfVersion.
	// Response: Entry; Err AlreadyExists or Conflict when the condition fails. Action store.key.set.
	OpPut Op = 10
	// OpIncr adds Delta to the number at Key (a missing key counts as 0, and then takes
	// TTL). Response: Value, the new number. Action store.key.set.
	OpIncr Op = 11
	// OpList lists live keys with Prefix after the cursor After, at most Limit.
	// Response: Page. Action store.key.list, with attribute prefix.
	OpList Op = 12
	// OpInfo describes the store. Response: Info. Action store.info.
	OpInfo Op = 13
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
	case OpEntry:
		return "entry"
	case OpPut:
		return "put"
	case OpIncr:
		return "incr"
	case OpList:
		return "list"
	case OpInfo:
		return "info"
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
	// must pass [CheckValue].
	Value []byte `cbor:"val,omitempty"`
	// TTL is in milliseconds; 0 means no expiry.
	TTL int64 `cbor:"ttl,omitempty"`
	// OnlyIfAbsent makes OpPut fail with AlreadyExists when the key is live.
	OnlyIfAbsent bool `cbor:"absent,omitempty"`
	// Limits asks OpOpen to report the store's limits (Response.MaxValueBytes). It is
	// a request, so that guests written before it see the open response they expect.
	Limits bool `cbor:"limits,omitempty"`
	// IfVersion makes OpPut fail with Conflict unless the key is live with this version.
	IfVersion *string `cbor:"ifver,omitempty"`
	// Delta is what OpIncr adds.
	Delta float64 `cbor:"delta,omitempty"`
	// Prefix, After and Limit select an OpList page; Limit 0 means DefaultListLimit.
	Prefix []byte `cbor:"prefix,omitempty"`
	After  []byte `cbor:"after,omitempty"`
	Limit  int64  `cbor:"limit,omitempty"`
	// Err is the task's failure (OpFinish); nil means success.
	Err *Error `cbor:"err,omitempty"`
}

// Response is what the host writes back. Err is set exactly when the operation failed.
type Response struct {
	Err    *Error `cbor:"err,omitempty"`
	OK     bool   `cbor:"ok,omitempty"`
	Handle uint32 `cbor:"h,omitempty"`
	// MaxValueBytes is the opened store's max_value_bytes (OpOpen with Limits), so that
	// a guest can stop encoding a value the store would refuse; absent from older hosts.
	MaxValueBytes int64  `cbor:"maxval,omitempty"`
	Value         []byte `cbor:"val,omitempty"`
	Task          *Task  `cbor:"task,omitempty"`
	Entry         *Entry `cbor:"entry,omitempty"`
	Page          *Page  `cbor:"page,omitempty"`
	Info          *Info  `cbor:"info,omitempty"`
}

// Entry is one live key with its value, version and remaining time to live.
type Entry struct {
	Key   []byte `cbor:"key"`
	Value []byte `cbor:"val"`
	// Version is opaque; it changes on every write of the key.
	Version string `cbor:"ver"`
	// TTL is the remaining time to live in milliseconds; absent when the key has no expiry.
	TTL *int64 `cbor:"ttl,omitempty"`
}

// Page is one page of a list.
type Page struct {
	Items []Entry `cbor:"items"`
	// Cursor continues the listing after this page (as the next request's After).
	Cursor []byte `cbor:"cursor"`
	// More is true exactly when another live key after this page matches the prefix.
	More bool `cbor:"more"`
}

// Info describes a store. Backend and Consistency are the values of the Lua
// store.backend and store.consistency tables.
type Info struct {
	ID             string `cbor:"id"`
	Backend        string `cbor:"backend"`
	Consistency    string `cbor:"consistency"`
	Durable        bool   `cbor:"durable"`
	List           bool   `cbor:"list"`
	Versioned      bool   `cbor:"versioned"`
	ConditionalPut bool   `cbor:"conditional_put"`
	TTL            bool   `cbor:"ttl"`
}

// Backends and consistencies, as store.backend and store.consistency name them.
const (
	BackendMemory = "MEMORY"
	BackendRedis  = "REDIS"
	BackendSQL    = "SQL"

	ConsistencyLinearizable = "LINEARIZABLE"
	ConsistencyEventual     = "EVENTUAL"
	ConsistencyLocal        = "LOCAL"

	// UnknownName is what a guest reads a backend or consistency it does not know as.
	UnknownName = "UNKNOWN"
)

// Backends returns the backend names, in a fixed order. The slice is the caller's.
func Backends() []string { return []string{BackendMemory, BackendRedis, BackendSQL, UnknownName} }

// Consistencies returns the consistency names, in a fixed order. The slice is the caller's.
func Consistencies() []string {
	return []string{ConsistencyLinearizable, ConsistencyEventual, ConsistencyLocal, UnknownName}
}

// Task is the work the host gives a guest for one run.
type Task struct {
	// Name is the chunk name used in error positions (the script's file name).
	Name string `cbor:"name"`
	// Source is the script. It is bytes because a Lua chunk need not be UTF-8.
	Source []byte `cbor:"src"`
	// Args are passed to the script as its varargs (...).
	Args [][]byte `cbor:"args,omitempty"`
	// MemoryLimit is the instance's memory limit in bytes, so the guest can size its
	// garbage collector to it; 0 when unknown.
	MemoryLimit int64 `cbor:"mem,omitempty"`
	// Input, when present, is one value (in the value encoding) that the guest passes to
	// the script as its first argument, before Args: a Lua guest decodes it to a table as
	// it decodes a stored value. wasmkv serve sends the HTTP request this way.
	Input []byte `cbor:"in,omitempty"`
	// Result asks the guest to report the script's first return value in the finish
	// request's Value. Guests that predate it ignore it and send no value.
	Result bool `cbor:"res,omitempty"`
}
