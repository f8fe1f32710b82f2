// Package wasmpass checks and rewrites a guest WebAssembly module before the host
// compiles it. It exists because the host must (1) refuse hostile modules on
// structural limits before wazero spends unbounded time and memory compiling them,
// (2) stop runaway guests cheaply with an inline countdown instead of wazero's exit
// at every loop header, and (3) produce a variant of a module that can start from a
// memory snapshot. It decodes every instruction and fails closed: a module it cannot
// fully decode is refused, never emitted half-rewritten. It imports only the standard
// library so that it has no dependency on the rest of the project. Check and Rewrite
// are pure functions of their arguments, safe for concurrent use.
package wasmpass

import (
	"fmt"
	"strings"
)

// Names used by the rewrite.
const (
	// PreemptModule and PreemptFunc name the function the countdown calls when it
	// reaches zero: an import of type (func) that the host provides.
	PreemptModule = "wasmkv_preempt"
	PreemptFunc   = "check"
	// CountdownExport names the mutable i32 global, defined in the module, that the
	// inline checks decrement; exported so the host resets it per instance.
	CountdownExport = "wasmkv_countdown"
	// GlobalExportPrefix: in the snapshot variant, defined mutable global i is
	// exported as GlobalExportPrefix + decimal i (i in the module's global index space).
	GlobalExportPrefix = "wasmkv_global_"
	// Version changes whenever the pass's output changes for the same input: the
	// host keys its cache of rewritten and compiled modules on it.
	Version = 1
	// CountdownStart is the countdown global's initial value.
	CountdownStart = 100000
)

// Options selects the transforms Rewrite applies after checking Limits.
type Options struct {
	Limits Limits
	// Preempt adds the import PreemptModule.PreemptFunc and the exported countdown
	// global, and a check at loop headers and function entries (docs/security.md).
	Preempt bool
	// Snapshot drops the data, data count and start sections and exports every defined
	// mutable global (Report.Globals), for instances started from a memory snapshot.
	// Element segments stay: they are applied at instantiation. A module that uses
	// memory.init or data.drop is refused. The countdown global is not among the
	// exported ones: the host resets it rather than restoring it.
	Snapshot bool
}

// Global describes one global of the module.
type Global struct {
	Index   uint32 // in the global index space (imports first)
	Type    byte   // value type: 0x7F i32, 0x7E i64, 0x7D f32, 0x7C f64, 0x7B v128, 0x70/0x6F refs
	Mutable bool
	// Imported globals cannot be snapshotted: their value lives outside the module.
	Imported bool
	// Export is the name the snapshot variant exports it under: GlobalExportPrefix and
	// the index for a defined mutable global, "" for the others.
	Export string
}

// Report is what the host needs to know about a module. The rewrite's own import
// and global are not in it.
type Report struct {
	Functions              int // defined functions
	ImportedFuncs          int
	Loops                  int
	Globals                []Global // every global, imported first
	MutableGlobals         int      // mutable globals, imported ones included
	ImportedMutableGlobals int
	DataSegments           int
	DataBytes              int // total bytes of data segments
	UsesMemoryInit         bool
	UsesDataDrop           bool
	HasMemory              bool
	MemoryImported         bool
	MemoryShared           bool
	MemoryMin              uint64 // pages
	MemoryMax              uint64 // pages, valid when HasMemoryMax
	HasMemoryMax           bool
	HasStart               bool
	StartFunc              uint32 // the start function's index in the input, when HasStart
	// ActiveData are the active data segments, in order: the snapshot variant drops
	// them, so the host writes them into a fresh instance's memory itself.
	ActiveData []DataSegment
	// The largest of each, for choosing Limits.
	MaxNestingDepth, MaxLocals, MaxFunctionBodyBytes, MaxBrTableTargets int
}

// DataSegment is an active data segment of memory 0.
type DataSegment struct {
	Offset      uint32 // valid when ConstOffset
	ConstOffset bool   // the offset is an i32.const (not a global.get or an expression)
	Bytes       []byte // a slice of the input
	At          int    // where Bytes starts in the input
}

// Check decodes the whole module and checks it against l; it produces no output.
func Check(wasm []byte, l Limits) (rep *Report, err error) {
	defer recoverError(&err)
	m := decode(wasm, l)
	return &m.rep, nil
}

// Rewrite checks the module against o.Limits, then applies the requested transforms.
// Preempt and Snapshot may both be set. With neither, the output is a copy of the
// input. The input is not modified.
func Rewrite(wasm []byte, o Options) (out []byte, rep *Report, err error) {
	defer recoverError(&err)
	m := decode(wasm, o.Limits)
	p := plan{preempt: o.Preempt, snapshot: o.Snapshot}
	fail := func(format string, args ...any) {
		panic(&Error{Where: "module", Offset: -1, Msg: fmt.Sprintf(format, args...)})
	}
	if o.Preempt {
		if m.importsPreempt {
			fail("already imports from %q: it cannot be instrumented twice", PreemptModule)
		}
		if m.exports[CountdownExport] {
			fail("already exports %q", CountdownExport)
		}
		if m.emptyType < 0 {
			p.addType, p.checkType = true, m.nTypes
		} else {
			p.checkType = uint32(m.emptyType)
		}
	}
	if o.Snapshot {
		if m.rep.UsesMemoryInit || m.rep.UsesDataDrop {
			fail("uses memory.init or data.drop, which need the data section the snapshot variant drops")
		}
		for name := range m.exports {
			if strings.HasPrefix(name, GlobalExportPrefix) {
				fail("already exports %q, a name the snapshot variant uses", name)
			}
		}
	}
	return encode(m, p), &m.rep, nil
}

// recoverError turns the decoders' panics into the returned error. A panic that is
// not one of ours is a bug in the pass: it is reported as an error, so that a module
// the pass mishandles is refused rather than crashing the host.
func recoverError(err *error) {
	switch e := recover().(type) {
	case nil:
	case *Error:
		*err = e
	case *LimitError:
		*err = e
	default:
		*err = &Error{Where: "module", Offset: -1, Msg: fmt.Sprintf("internal error: %v", e)}
	}
}
