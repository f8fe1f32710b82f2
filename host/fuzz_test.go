package host

// Fuzz targets for the host side of the ABI. Seed corpora are in testdata/fuzz/<Target>;
// `go test` runs them as regression tests. To fuzz (count-based: a time-based
// -fuzztime trips a Go 1.26 coordinator bug):
//
//	go test -run '^$' -fuzz '^FuzzHandleRequest$' -fuzztime 200000x ./host/
//	go test -run '^$' -fuzz '^FuzzHostCall$' -fuzztime 100000x ./host/

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmkv/wasmkv/abi"
)

// fuzzConfig has stores small enough to fill, a limit to break, and a denial to hit.
const fuzzConfig = `
stores:
  app:cache:
    kind: memory
    max_size: 64
  app:small:
    kind: memory
    max_size: 2
    max_key_bytes: 8
    max_value_bytes: 64
    eviction: lru
  secret:
    kind: memory
policies:
  - name: fuzz
    effect: allow
    resources: ["app:*"]
  - name: no-deletes-on-small
    effect: deny
    actions: ["store.key.delete"]
    resources: ["app:small"]
`

// fuzzEnv is one wazero runtime with wasmkv's host module over the stores of
// fuzzConfig (through the public Instantiate), and the compiled trampoline guest.
type fuzzEnv struct {
	h          *Host
	rt         wazero.Runtime
	trampoline wazero.CompiledModule
	seq        atomic.Uint64
}

var (
	fuzzOnce sync.Once
	fuzzE    *fuzzEnv
	fuzzErr  error
)

// The environment is shared by every test and fuzz target of the process, and never
// closed: the stores have no background work worth stopping for a test binary.
func getFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	fuzzOnce.Do(func() { fuzzE, fuzzErr = newFuzzEnv() })
	if fuzzErr != nil {
		tb.Fatal(fuzzErr)
	}
	return fuzzE
}

func newFuzzEnv() (*fuzzEnv, error) {
	ctx := context.Background()
	cfg, err := ParseConfig([]byte(fuzzConfig))
	if err != nil {
		return nil, err
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	e, err := Instantiate(ctx, rt, cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(filepath.Join("testdata", "wat", "trampoline.wasm"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("testdata/wat/trampoline.wasm is missing: run `make wat`")
	} else if err != nil {
		return nil, err
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, err
	}
	return &fuzzEnv{h: e.h, rt: rt, trampoline: compiled}, nil
}

// checkResponse asserts what every response must be: decodable, with a known error
// kind, and with no other field beside an error.
func checkResponse(t *testing.T, req, out []byte) abi.Response {
	t.Helper()
	var resp abi.Response
	if err := abi.DecodeResponse(out, &resp); err != nil {
		t.Fatalf("request %x: response %x does not decode: %v", req, out, err)
	}
	if e := resp.Err; e != nil {
		if !e.Kind.Valid() {
			t.Fatalf("request %x: error of unknown kind %q", req, e.Kind)
		}
		if resp.OK || resp.Handle != 0 || resp.Value != nil || resp.Task != nil || resp.Entry != nil || resp.Page != nil || resp.Info != nil {
			t.Fatalf("request %x: an error response has other fields: %x", req, out)
		}
	}
	return resp
}

// FuzzHandleRequest feeds raw bytes to the host's request handling, with handles 1
// (app:cache), 2 (app:small) and 3 (released) open. It must never panic, must always
// answer with a response that decodes, and must answer Invalid to any request that
// does not decode.
func FuzzHandleRequest(f *testing.F) {
	env := getFuzzEnv(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, req []byte) {
		inst := &instance{host: env.h, module: "fuzz", task: &abi.Task{Name: "fuzz.lua", Source: []byte("return ...")},
			policy: env.h.countersFor("fuzz"), log: env.h.log}
		for _, id := range []string{"app:cache", "app:small", "app:cache"} {
			if _, _, e := inst.open(id); e != nil {
				t.Fatalf("open %s: %v", id, e)
			}
		}
		inst.release(3) // the second app:cache handle
		out := inst.handle(ctx, req)
		resp := checkResponse(t, req, out)
		var r abi.Request
		if abi.DecodeRequest(req, &r) != nil && (resp.Err == nil || resp.Err.Kind != abi.Invalid) {
			t.Fatalf("request %x does not decode, but the response is %x", req, out)
		}
		if inst.failed != nil {
			t.Fatalf("request %x failed the run: %v", req, inst.failed)
		}
	})
}

// FuzzHostCall calls the host function call with any (req_ptr, req_len, resp_ptr,
// resp_cap), as i32 values or as i64 values wrapped to i32 (wide), over any memory
// contents, through the trampoline guest. The result must be the status docs/abi.md
// gives for those regions, or a length; nothing outside the response buffer may
// change, and nothing at all unless the response fitted. A response that did not fit
// must come back whole from take.
func FuzzHostCall(f *testing.F) {
	env := getFuzzEnv(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, memory []byte, reqPtr, reqLen, respPtr, respCap uint64, wide bool) {
		mod, err := env.rt.InstantiateModule(ctx, env.trampoline,
			wazero.NewModuleConfig().WithName(fmt.Sprintf("fuzz#%d", env.seq.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		defer mod.Close(ctx)
		mem := mod.Memory()
		size := uint64(mem.Size())
		if !mem.Write(0, memory[:min(uint64(len(memory)), size)]) {
			t.Fatal("writing the memory")
		}
		before := snapshot(t, mem)

		var res []uint64
		if wide {
			res, err = mod.ExportedFunction("call64").Call(ctx, reqPtr, reqLen, respPtr, respCap)
		} else {
			// Raw: an i32 parameter that arrives with high bits set.
			res, err = mod.ExportedFunction("call").Call(ctx, reqPtr, reqLen, respPtr, respCap)
		}
		if err != nil {
			t.Fatalf("call trapped: %v", err)
		}
		n := int64(res[0])

		// The host reads every value as an unsigned 32-bit integer.
		req := region{uint64(uint32(reqPtr)), uint64(uint32(reqLen))}
		resp := region{uint64(uint32(respPtr)), uint64(uint32(respCap))}
		inside := func(r region) bool { return r.ptr <= size && r.len <= size-r.ptr }
		var want abi.Status
		switch {
		case req.len > abi.MaxRequestBytes:
			want = abi.StatusTooLarge
		case !inside(req) || !inside(resp):
			want = abi.StatusBadPointer
		case req.len > 0 && resp.len > 0 && req.ptr < resp.ptr+resp.len && resp.ptr < req.ptr+req.len:
			want = abi.StatusOverlap
		}
		after := snapshot(t, mem)
		switch {
		case want != 0:
			if n != int64(want) {
				t.Fatalf("call(%#x, %#x, %#x, %#x) = %d, want %d (%v)", req.ptr, req.len, resp.ptr, resp.len, n, want, want)
			}
			if !bytes.Equal(before, after) {
				t.Fatalf("call(%#x, %#x, %#x, %#x) = %d changed memory", req.ptr, req.len, resp.ptr, resp.len, n)
			}
		case n < 0:
			t.Fatalf("call(%#x, %#x, %#x, %#x) = %d (%v), want a length", req.ptr, req.len, resp.ptr, resp.len, n, abi.Status(n))
		case uint64(n) <= resp.len:
			end := resp.ptr + uint64(n)
			if !bytes.Equal(before[:resp.ptr], after[:resp.ptr]) || !bytes.Equal(before[end:], after[end:]) {
				t.Fatalf("call(%#x, %#x, %#x, %#x) = %d wrote outside [resp_ptr, resp_ptr+n)", req.ptr, req.len, resp.ptr, resp.len, n)
			}
			checkResponse(t, before[req.ptr:req.ptr+req.len], after[resp.ptr:end])
		default:
			if !bytes.Equal(before, after) {
				t.Fatalf("call(%#x, %#x, %#x, %#x) = %d > resp_cap, but memory changed", req.ptr, req.len, resp.ptr, resp.len, n)
			}
			// The whole memory as the buffer: the request was copied out already.
			res, err := mod.ExportedFunction("take").Call(ctx, 0, api.EncodeU32(uint32(size)))
			if err != nil {
				t.Fatalf("take trapped: %v", err)
			}
			if got := int64(res[0]); got != n {
				t.Fatalf("take = %d, want the length %d that call returned", got, n)
			}
			if uint64(n) <= size {
				checkResponse(t, before[req.ptr:req.ptr+req.len], snapshot(t, mem)[:n])
			}
		}
	})
}

func snapshot(t *testing.T, mem api.Memory) []byte {
	b, ok := mem.Read(0, mem.Size())
	if !ok {
		t.Fatal("reading the memory")
	}
	return bytes.Clone(b)
}
