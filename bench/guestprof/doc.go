// Package guestprof profiles the Lua guest's own Go code natively, as a stand-in for a
// profile inside wasm, where pprof cannot see: `go tool pprof` of the host shows every
// guest instruction as runtime._ExternalCode.
//
// run.sh builds package guest (the wasm program's source) for the host's GOOS with an
// overlay: fakehost.go replaces guest/sdk's non-wasm transport with an in-process host
// that answers task, finish, open, release, set and get from a map, and prof_test.go adds
// benchmarks that call the guest's run entry point. The files carry the guestprof build
// tag, so nothing else compiles them.
//
//	bench/guestprof/run.sh            # prints `go tool pprof -top` per benchmark
//
// The proportions are native ones: in wasm every allocation and every loop header costs
// more (see docs/performance.md), so allocation-heavy entries weigh more there.
package guestprof
