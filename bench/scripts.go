// Package bench measures wasmkv against the baselines of issue 5: the same store
// workload through the sandbox, natively (the guest's Lua code over the host's handler in
// process, bench/native.go), on a
// Lua table inside the guest, on a real redis-server with EVAL, and on a plain Go map;
// plus warm-run latency, instance creation, compilation, RSS per pooled instance and
// scaling across goroutines.
//
// The measurement functions live in this package so that the `go test -bench`
// benchmarks (bench_test.go) and the table driver (bench/table) run the same code:
//
//	go test -run '^$' -bench . -benchmem ./bench/
//	go run ./bench/table
//
// No test here asserts a threshold: the numbers are reported as measured, and the
// driver compares them with the targets of issue 5.
package bench

// LoopN is how many set+get pairs one run of the store loop does; a run therefore does
// 2*LoopN store operations, and per-op figures are elapsed / (2*LoopN*runs).
const LoopN = 1000

// The store loop is one Lua body run against two preludes, so that the sandbox, the
// native baseline and the guest-local table execute exactly the same code. Its arguments
// are the iteration count and a key prefix (so that concurrent runs use their own keys).
// Every iteration builds a small table value, sets it under one of 64 keys, reads it
// back and checks it, as a session cache would. A second form stores the number i
// instead, to separate the boundary from the cost of building tables.
func loop(prelude, value, check string) []byte {
	return []byte(prelude + `
local n, prefix = ...
n = tonumber(n)
local keys = {}
for i = 1, 64 do keys[i] = prefix .. i end
for i = 1, n do
	local k = keys[i % 64 + 1]
	local ok, err = cache:set(k, ` + value + `)
	if not ok then error("set: " .. tostring(err)) end
	local v, gerr = cache:get(k)
	if ` + check + ` then error("get: " .. tostring(gerr)) end
end
cache:release()
return n
`)
}

const (
	tableValue  = `{id = i, name = "alice"}`
	tableCheck  = `v == nil or v.id ~= i`
	numberValue = `i`
	numberCheck = `v ~= i`
)

// storePrelude opens the host-backed store (the sandbox's, or the host handler's in process).
const storePrelude = `local cache = assert(require("store").get("app:cache"))`

// tablePrelude is a tiny Lua object with the store's set/get/release shape over a
// local table: the same loop without the store boundary and without the codec.
const tablePrelude = `
local cache = {data = {}}
function cache:set(k, v) self.data[k] = v return true end
function cache:get(k)
	local v = self.data[k]
	if v == nil then return nil, "not found" end
	return v
end
function cache:release() return true end
`

var (
	// StoreLoopScript is the set+get loop against the store module.
	StoreLoopScript = loop(storePrelude, tableValue, tableCheck)
	// TableLoopScript is the same loop against a Lua table in the same VM.
	TableLoopScript = loop(tablePrelude, tableValue, tableCheck)
	// NumberStoreLoopScript and NumberTableLoopScript store the number i instead.
	NumberStoreLoopScript = loop(storePrelude, numberValue, numberCheck)
	NumberTableLoopScript = loop(tablePrelude, numberValue, numberCheck)
)

// RedisLoopScript is the equivalent loop for Redis EVAL: redis.call SET/GET with the
// value packed by cmsgpack (Redis's bundled codec, as luacbor is ours).
const RedisLoopScript = `
local n, prefix = tonumber(ARGV[1]), ARGV[2]
local keys = {}
for i = 1, 64 do keys[i] = prefix .. i end
for i = 1, n do
	local k = keys[i % 64 + 1]
	redis.call('SET', k, cmsgpack.pack({id = i, name = "alice"}))
	local v = cmsgpack.unpack(redis.call('GET', k))
	if v == nil or v.id ~= i then return redis.error_reply('get: mismatch') end
end
return n
`

// TinyScript is the warm-run script: a cached chunk that does nothing.
var TinyScript = []byte(`return 1`)

// spinScript keeps an instance busy for some tens of milliseconds without allocating,
// so that concurrent runs each hold their own instance.
var spinScript = []byte(`local x = 0 for i = 1, 50000 do x = x + i end return 1`)
