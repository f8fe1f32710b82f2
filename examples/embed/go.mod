// A module of its own, as an application that embeds wasmkv is: it imports
// github.com/wasmkv/wasmkv/host like any other dependency, which proves the module
// builds from its published sources (the committed guest included), with no make step.
// The replace points at this checkout; an application would require a version.
module github.com/wasmkv/wasmkv/examples/embed

go 1.26.8

require (
	github.com/stretchr/testify v1.12.1
	github.com/tetratelabs/wazero v1.12.0
	github.com/wasmkv/wasmkv v0.0.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/wasmkv/wasmkv => ../..
