package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// snapshotGlobalPrefix names the exports the snapshot variant adds for the module's
// mutable globals: defined global i (in the global index space) is exported as
// snapshotGlobalPrefix + i. It is the name package wasmpass uses for the same variant,
// so that its rewrite can replace this one without changing the host.
const snapshotGlobalPrefix = "wasmkv_global_"

// variant is a guest module rewritten so that instances can start from a snapshot:
// its data segments, data count and start function are gone (an instance's memory
// comes from the snapshot, or from data the host writes), and every mutable global is
// exported so the host can read and set it.
type variant struct {
	wasm    []byte
	data    []dataSegment // the active segments the variant dropped, in order
	globals []string      // export names of the mutable globals, in index order
}

// dataSegment is an active data segment at a constant offset of memory 0.
type dataSegment struct {
	offset uint32
	bytes  []byte
}

// errNoSnapshot: the module has a shape the snapshot variant cannot keep; it runs as
// compiled, without a snapshot.
var errNoSnapshot = errors.New("cannot be snapshotted")

func noSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errNoSnapshot, fmt.Sprintf(format, args...))
}

// Section ids of the binary format.
const (
	secCustom    = 0
	secImport    = 2
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// snapshotVariant builds the variant of a module, or says why it cannot. It reads only
// the module's sections, not its code: a module whose code uses memory.init or
// data.drop fails to validate without its data count section, and then runs as it is.
func snapshotVariant(wasm []byte) (*variant, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || binary.LittleEndian.Uint32(wasm[4:8]) != 1 {
		return nil, noSnapshot("not a wasm module")
	}
	out := append([]byte(nil), wasm[:8]...)
	v := &variant{}
	var importedGlobals uint32
	var exports []byte
	var exportCount uint32
	exportDone := false
	emitExports := func() {
		payload := appendULEB(nil, exportCount+uint32(len(v.globals)))
		payload = append(payload, exports...)
		for _, name := range v.globals {
			payload = appendULEB(payload, uint32(len(name)))
			payload = append(payload, name...)
			payload = append(payload, 0x03) // global
			idx, _ := strconv.ParseUint(name[len(snapshotGlobalPrefix):], 10, 32)
			payload = appendULEB(payload, uint32(idx))
		}
		out = append(out, secExport)
		out = appendULEB(out, uint32(len(payload)))
		out = append(out, payload...)
		exportDone = true
	}
	r := reader{b: wasm[8:]}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		body := r.bytes(size)
		if r.err != nil {
			return nil, noSnapshot("truncated section")
		}
		// The export section comes after globals and before start, elements, data count,
		// code and data: emit it there if the module has none.
		if !exportDone && (id == secStart || id == secElement || id == secCode || id == secData || id == secDataCount) {
			emitExports()
		}
		s := reader{b: body}
		switch id {
		case secImport:
			n, err := importedMutableGlobals(&s)
			if err != nil {
				return nil, err
			}
			importedGlobals = n
		case secMemory:
			if err := checkMemories(&s); err != nil {
				return nil, err
			}
		case secGlobal:
			n := s.u32()
			for i := uint32(0); i < n && s.err == nil; i++ {
				typ, mut := s.byte(), s.byte()
				if err := skipConstExpr(&s); err != nil {
					return nil, err
				}
				if mut == 1 {
					switch typ {
					case 0x7F, 0x7E, 0x7D, 0x7C:
					default:
						return nil, noSnapshot("a mutable global of type 0x%x", typ)
					}
					v.globals = append(v.globals, snapshotGlobalPrefix+strconv.FormatUint(uint64(importedGlobals+i), 10))
				}
			}
		case secExport:
			exportCount = s.u32()
			exports = s.b[s.off:]
			emitExports()
			continue
		case secStart:
			return nil, noSnapshot("a start function")
		case secDataCount:
			continue // dropped
		case secData:
			segs, err := dataSegments(&s)
			if err != nil {
				return nil, err
			}
			v.data = segs
			continue // dropped
		}
		if s.err != nil {
			return nil, noSnapshot("malformed section %d", id)
		}
		out = append(out, id)
		out = appendULEB(out, size)
		out = append(out, body...)
	}
	if !exportDone {
		emitExports()
	}
	v.wasm = out
	return v, nil
}

// importedMutableGlobals counts imported globals, and refuses a mutable one (its value
// lives outside the instance) or an imported memory (the snapshot would not be ours).
func importedMutableGlobals(s *reader) (uint32, error) {
	var globals uint32
	n := s.u32()
	for i := uint32(0); i < n && s.err == nil; i++ {
		s.bytes(s.u32()) // module
		s.bytes(s.u32()) // name
		switch kind := s.byte(); kind {
		case 0x00, 0x04: // function, tag
			if kind == 0x04 {
				s.byte()
			}
			s.u32()
		case 0x01: // table
			s.byte()
			skipLimits(s)
		case 0x02:
			return 0, noSnapshot("an imported memory")
		case 0x03:
			s.byte()
			if s.byte() == 1 {
				return 0, noSnapshot("an imported mutable global")
			}
			globals++
		default:
			return 0, noSnapshot("an import of kind %d", kind)
		}
	}
	if s.err != nil {
		return 0, noSnapshot("malformed imports")
	}
	return globals, nil
}

// checkMemories refuses shared and 64-bit memories, which the snapshot does not handle.
func checkMemories(s *reader) error {
	n := s.u32()
	for i := uint32(0); i < n && s.err == nil; i++ {
		if flags := skipLimits(s); flags&^1 != 0 {
			return noSnapshot("a shared or 64-bit memory")
		}
	}
	return nil
}

func skipLimits(s *reader) byte {
	flags := s.byte()
	s.u64()
	if flags&1 != 0 {
		s.u64()
	}
	return flags
}

// dataSegments reads the data section: only active segments of memory 0 at an
// i32.const offset can be written by the host.
func dataSegments(s *reader) ([]dataSegment, error) {
	n := s.u32()
	var segs []dataSegment
	for i := uint32(0); i < n && s.err == nil; i++ {
		switch flags := s.u32(); flags {
		case 0, 2:
			if flags == 2 && s.u32() != 0 {
				return nil, noSnapshot("data for a second memory")
			}
			if s.byte() != 0x41 {
				return nil, noSnapshot("a data segment at a computed offset")
			}
			off := s.s32()
			if s.byte() != 0x0B {
				return nil, noSnapshot("a data segment at a computed offset")
			}
			segs = append(segs, dataSegment{offset: uint32(off), bytes: s.bytes(s.u32())})
		default:
			return nil, noSnapshot("a passive data segment")
		}
	}
	if s.err != nil || !s.done() {
		return nil, noSnapshot("malformed data section")
	}
	return segs, nil
}

// skipConstExpr reads a constant expression up to its end.
func skipConstExpr(s *reader) error {
	for s.err == nil {
		switch op := s.byte(); op {
		case 0x0B:
			return nil
		case 0x41, 0x23, 0xD2:
			s.u64()
		case 0x42:
			s.u64()
		case 0x43:
			s.bytes(4)
		case 0x44:
			s.bytes(8)
		case 0xD0:
			s.u64() // heap type (s33)
		case 0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E:
		case 0xFD:
			if s.u32() != 12 {
				return noSnapshot("a vector constant expression")
			}
			s.bytes(16)
		default:
			return noSnapshot("constant expression opcode 0x%x", op)
		}
	}
	return noSnapshot("malformed constant expression")
}

// reader decodes the binary format; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

var errTruncated = errors.New("truncated")

func (r *reader) done() bool { return r.off >= len(r.b) }

func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n uint32) []byte {
	if uint64(r.off)+uint64(n) > uint64(len(r.b)) {
		r.err = errTruncated
		r.off = len(r.b)
		return nil
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

// u64 reads an unsigned LEB128 of at most 10 bytes (also skips signed ones).
func (r *reader) u64() uint64 {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7F) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errTruncated
	return 0
}

func (r *reader) u32() uint32 {
	v := r.u64()
	if v > 1<<32-1 {
		r.err = errTruncated
		return 0
	}
	return uint32(v)
}

// s32 reads a signed LEB128 i32.
func (r *reader) s32() int32 {
	var v int64
	var shift uint
	for {
		c := r.byte()
		if r.err != nil || shift > 35 {
			r.err = errTruncated
			return 0
		}
		v |= int64(c&0x7F) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return int32(v)
		}
	}
}

func appendULEB(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
