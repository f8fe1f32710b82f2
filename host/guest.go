package host

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/wasmpass"
)

// guestFiles are the guests this package embeds, each NAME.wasm.gz the gzip of a
// NAME.wasm that `make guest` builds from the repository's sources. They are committed,
// so that a program importing this package builds with the Go toolchain alone, and
// `make guest-check` (run by CI) proves each equals what the sources build.
//
//go:embed *.wasm.gz
var guestFiles embed.FS

// luaGuest is the file of the Lua guest, built from ./guest.
const luaGuest = "guest.wasm"

// embedded holds one decompressed guest per name, decompressed on first use and kept
// for the life of the process.
var embedded = func() map[string]func() ([]byte, error) {
	m := map[string]func() ([]byte, error){}
	names, _ := fs.Glob(guestFiles, "*.wasm.gz")
	for _, gz := range names {
		m[strings.TrimSuffix(gz, ".gz")] = sync.OnceValues(func() ([]byte, error) {
			data, _ := guestFiles.ReadFile(gz)
			wasm, err := gunzip(data)
			if err != nil {
				return nil, fmt.Errorf("host: embedded %s: %w", gz, err)
			}
			return wasm, nil
		})
	}
	return m
}()

// gunzip decompresses one gzip member into a buffer sized from its trailer, which
// records the decompressed size (mod 2^32; our guests are far smaller).
func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var size uint32
	if len(data) >= 4 {
		size = binary.LittleEndian.Uint32(data[len(data)-4:])
	}
	buf := bytes.NewBuffer(make([]byte, 0, int(size)+bytes.MinRead))
	if _, err := buf.ReadFrom(zr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// embeddedGuest returns the decompressed guest of that file name. A guest that fails to
// decompress is a corrupt build of this package, so it panics.
func embeddedGuest(name string) []byte {
	get, ok := embedded[name]
	if !ok {
		panic("host: no embedded guest " + name)
	}
	wasm, err := get()
	if err != nil {
		panic(err)
	}
	return wasm
}

// EmbeddedGuest describes one guest module built into this package.
type EmbeddedGuest struct {
	Name   string // the file name, e.g. "guest.wasm" (the Lua guest)
	Size   int    // bytes, decompressed
	SHA256 string // hex digest of the module, as sha256sum prints it for `make guest`'s build
}

// EmbeddedGuests lists the guest modules built into this package, by name: what a
// binary runs, for `wasmkv version` and bug reports.
func EmbeddedGuests() []EmbeddedGuest {
	var out []EmbeddedGuest
	for _, name := range slices.Sorted(maps.Keys(embedded)) {
		wasm := embeddedGuest(name)
		out = append(out, EmbeddedGuest{Name: name, Size: len(wasm), SHA256: fmt.Sprintf("%x", sha256.Sum256(wasm))})
	}
	return out
}

// hostFuncs are the functions of abi.ModuleName with their wasm signatures.
var hostFuncs = map[string]struct{ params, results []api.ValueType }{
	abi.FuncCall: {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
	abi.FuncTake: {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
}

// GuestError is a guest module that this host cannot run.
type GuestError struct {
	Msg string
	// Err is the cause when there is one: a *wasmpass.LimitError for a module over a
	// structural limit, a *wasmpass.Error for one the pass cannot decode.
	Err error
}

// Error returns the message, prefixed "host: guest: ".
func (e *GuestError) Error() string { return "host: guest: " + e.Msg }

// Unwrap returns the cause.
func (e *GuestError) Unwrap() error { return e.Err }

// checkGuest refuses, before any instance exists, a guest built for another ABI
// version, one that imports a function we lack or with another signature, and one
// without the exports the host calls. The countdown's import is allowed only in a guest
// the pass instrumented (preempt): the pass refuses a module that imports it already.
func checkGuest(m wazero.CompiledModule, preempt bool) error {
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		if !strings.HasPrefix(mod, "wasmkv") {
			continue
		}
		if mod == unwindModule {
			if err := checkUnwindImport(m, f); err != nil {
				return err
			}
			continue
		}
		if mod == wasmpass.PreemptModule {
			if !preempt {
				return &GuestError{Msg: fmt.Sprintf("imports %s.%s, which only the host's own instrumentation may import", mod, name)}
			}
			if name != wasmpass.PreemptFunc || len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
				return &GuestError{Msg: fmt.Sprintf("imports %s.%s %s, which the host does not provide", mod, name, signature(f.ParamTypes(), f.ResultTypes()))}
			}
			continue
		}
		if mod != abi.ModuleName {
			return &GuestError{Msg: fmt.Sprintf("imports %s.%s, but this host provides ABI module %q (version %d)", mod, name, abi.ModuleName, abi.Version)}
		}
		want, ok := hostFuncs[name]
		if !ok {
			return &GuestError{Msg: fmt.Sprintf("imports unknown function %s.%s", mod, name)}
		}
		if !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results) {
			return &GuestError{Msg: fmt.Sprintf("imports %s.%s with signature %s, want %s", mod, name,
				signature(f.ParamTypes(), f.ResultTypes()), signature(want.params, want.results))}
		}
	}
	// Only functions can be imported from us; wazero cannot list imported globals and
	// tables, which fail at instantiation instead.
	for _, mem := range m.ImportedMemories() {
		if mod, name, _ := mem.Import(); strings.HasPrefix(mod, "wasmkv") {
			return &GuestError{Msg: fmt.Sprintf("imports %s.%s, which is not a function of %s", mod, name, abi.ModuleName)}
		}
	}
	exports := m.ExportedFunctions()
	for _, name := range []string{abi.ExportInitialize, abi.ExportRun} {
		f, ok := exports[name]
		if !ok {
			return &GuestError{Msg: fmt.Sprintf("does not export function %q", name)}
		}
		if len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
			return &GuestError{Msg: fmt.Sprintf("exports %q with signature %s, want (func)", name, signature(f.ParamTypes(), f.ResultTypes()))}
		}
	}
	return nil
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, " ")
	}
	return fmt.Sprintf("(func (param %s) (result %s))", names(params), names(results))
}
