package host

import (
	"errors"
	"fmt"

	"github.com/wasmkv/wasmkv/wasmpass"
)

// variant is what the host needs to start instances of a guest's snapshot variant,
// which package wasmpass makes (Options.Snapshot): its data segments, data count and
// start function are gone (an instance's memory comes from the snapshot, or from data
// the host writes), and every mutable global is exported so the host can read and set
// it.
type variant struct {
	data    []dataSegment // the active segments the variant dropped, in order
	globals []string      // export names of the mutable globals, in index order
}

// dataSegment is an active data segment at a constant offset of memory 0.
type dataSegment struct {
	offset uint32
	at     int // where bytes starts in the module given
	bytes  []byte
}

// errNoSnapshot: the module has a shape the snapshot variant cannot keep; it runs as
// compiled, without a snapshot.
var errNoSnapshot = errors.New("cannot be snapshotted")

func noSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errNoSnapshot, fmt.Sprintf(format, args...))
}

// snapshotVariant reads the report of a Snapshot rewrite: what the host must do for the
// variant, or why the module cannot start from a snapshot the host makes. The pass
// accepts more than the host can restore: a start function (the host would have to run
// it), imported or shared memory and imported mutable globals (their state is not the
// instance's), data the host cannot place itself, and globals it cannot read as numbers.
func snapshotVariant(rep *wasmpass.Report) (*variant, error) {
	switch {
	case rep.HasStart:
		return nil, noSnapshot("a start function")
	case rep.MemoryImported:
		return nil, noSnapshot("an imported memory")
	case rep.MemoryShared:
		return nil, noSnapshot("a shared memory")
	case rep.ImportedMutableGlobals > 0:
		return nil, noSnapshot("an imported mutable global")
	case len(rep.ActiveData) != rep.DataSegments:
		return nil, noSnapshot("a passive data segment")
	}
	v := &variant{}
	for _, g := range rep.Globals {
		if g.Export == "" {
			continue
		}
		switch g.Type {
		case 0x7F, 0x7E, 0x7D, 0x7C: // i32, i64, f32, f64
		default:
			return nil, noSnapshot("a mutable global of type 0x%x", g.Type)
		}
		v.globals = append(v.globals, g.Export)
	}
	for _, seg := range rep.ActiveData {
		if !seg.ConstOffset {
			return nil, noSnapshot("a data segment at a computed offset")
		}
		v.data = append(v.data, dataSegment{offset: seg.Offset, at: seg.At, bytes: seg.Bytes})
	}
	return v, nil
}
