package wasmpass

// Immediate kinds of instructions. Zero is "unknown": the pass refuses the module.
const (
	kUnknown  = iota
	kNone     // no immediate
	kU32      // one index or label
	kU32x2    // two indices
	kFunc     // a function index: shifted by the rewrite
	kCall     // call, return_call: a function index, and a call
	kCallInd  // call_indirect, return_call_indirect: type and table, and a call
	kBlock    // block, if: a block type, opens a block
	kLoop     // loop: a block type, opens a block, gets a check
	kTryTable // try_table: a block type and catch clauses, opens a block
	kEnd      // end: closes a block, or the expression
	kBrTable  // a vector of labels and a default
	kMemarg   // alignment and offset
	kMemLane  // memarg and a lane index
	kI32      // i32.const
	kI64      // i64.const
	kF32      // 4 bytes
	kF64      // 8 bytes
	kV128     // 16 bytes: v128.const, i8x16.shuffle
	kLane     // one lane index byte
	kSelectT  // a vector of value types
	kRefNull  // a heap type
	kZeroByte // atomic.fence: one reserved zero byte
	kMemInit  // memory.init: data index, memory index
	kDataDrop // data.drop: data index
	kPrefixFC // misc: saturating truncation, bulk memory, tables
	kPrefixFD // SIMD
	kPrefixFE // threads
)

// Opcode tables: one byte, and the u32 sub-opcodes of the three prefixes. They cover
// core 2.0 and the features wazero v1.12 implements: tail calls, exception handling
// (the try_table form; the legacy try/catch is refused, as wazero does), threads.
var (
	opKinds [256]uint8
	fcKinds [18]uint8
	fdKinds [256]uint8
	feKinds [0x4f]uint8
)

func init() {
	set := func(t []uint8, k uint8, ops ...int) {
		for _, op := range ops {
			t[op] = k
		}
	}
	span := func(t []uint8, k uint8, from, to int) {
		for op := from; op <= to; op++ {
			t[op] = k
		}
	}
	set(opKinds[:], kNone, 0x00, 0x01, 0x05, 0x0A, 0x0F, 0x1A, 0x1B, 0xD1)
	set(opKinds[:], kBlock, 0x02, 0x04)
	set(opKinds[:], kLoop, 0x03)
	set(opKinds[:], kU32, 0x08, 0x0C, 0x0D, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3F, 0x40)
	set(opKinds[:], kEnd, 0x0B)
	set(opKinds[:], kBrTable, 0x0E)
	set(opKinds[:], kCall, 0x10, 0x12)
	set(opKinds[:], kCallInd, 0x11, 0x13)
	set(opKinds[:], kSelectT, 0x1C)
	set(opKinds[:], kTryTable, 0x1F)
	span(opKinds[:], kMemarg, 0x28, 0x3E)
	set(opKinds[:], kI32, 0x41)
	set(opKinds[:], kI64, 0x42)
	set(opKinds[:], kF32, 0x43)
	set(opKinds[:], kF64, 0x44)
	span(opKinds[:], kNone, 0x45, 0xC4) // numeric, sign extension
	set(opKinds[:], kRefNull, 0xD0)
	set(opKinds[:], kFunc, 0xD2)
	set(opKinds[:], kPrefixFC, 0xFC)
	set(opKinds[:], kPrefixFD, 0xFD)
	set(opKinds[:], kPrefixFE, 0xFE)

	span(fcKinds[:], kNone, 0, 7) // saturating float-to-int
	set(fcKinds[:], kMemInit, 8)
	set(fcKinds[:], kDataDrop, 9)
	set(fcKinds[:], kU32x2, 10, 12, 14) // memory.copy, table.init, table.copy
	set(fcKinds[:], kU32, 11, 13, 15, 16, 17)

	// SIMD: the opcodes wazero v1.12 implements (relaxed SIMD is not among them).
	for _, op := range []int{0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x5E, 0x5F, 0xFC, 0xFD, 0xFE, 0xFF} {
		fdKinds[op] = kNone
	}
	span(fdKinds[:], kNone, 0x23, 0x53)
	span(fdKinds[:], kNone, 0x60, 0x66)
	span(fdKinds[:], kNone, 0x67, 0xFB)
	for _, op := range []int{0x9A, 0xA2, 0xA5, 0xA6, 0xAF, 0xB0, 0xB2, 0xB3, 0xB4, 0xBB, 0xC2, 0xC5, 0xC6, 0xCF, 0xD0, 0xD2, 0xD3, 0xD4, 0xE2, 0xEE} {
		fdKinds[op] = kUnknown // unassigned
	}
	span(fdKinds[:], kMemarg, 0x00, 0x0B)
	set(fdKinds[:], kV128, 0x0C, 0x0D)
	span(fdKinds[:], kLane, 0x15, 0x22)
	span(fdKinds[:], kMemLane, 0x54, 0x5B)
	set(fdKinds[:], kMemarg, 0x5C, 0x5D)

	set(feKinds[:], kMemarg, 0x00, 0x01, 0x02)
	set(feKinds[:], kZeroByte, 0x03)
	span(feKinds[:], kMemarg, 0x10, 0x4E)
}

// Per-function facts from the first pass, used to place the checks.
const (
	fnHasCall   = 1 << iota // contains a call: may recurse, so its entry needs a check
	fnLoopFirst             // starts with block*/loop: the loop's check runs at entry anyway
	fnHasLoop
)

// walker walks expressions. When emit is set it also writes the rewritten module:
// input bytes are copied lazily (from..pos) and only changed immediates and inserted
// checks are written, so an unchanged span is copied as one block.
type walker struct {
	m     *module
	r     reader
	emit  bool
	out   []byte
	from  int
	depth uint64
	// per expression
	flags  uint8
	prefix bool   // still in the leading block/loop instructions of a function
	check  []byte // the countdown check to insert at loop headers, nil for none
}

// flush copies the input up to pos into the output.
func (w *walker) flush(pos int) {
	w.out = append(w.out, w.r.b[w.from:pos]...)
	w.from = pos
}

// funcIdx reads a function index and writes it shifted past the added import.
func (w *walker) funcIdx() {
	r := &w.r
	at := r.pos
	v := r.u32()
	if v >= w.m.numFuncs {
		r.pos = at
		r.fail("function index %d out of range (%d functions)", v, w.m.numFuncs)
	}
	if w.emit && (w.m.shift != 0 || w.m.force) {
		w.flush(at)
		if v >= w.m.numImportFuncs {
			v += w.m.shift
		}
		w.out = appendU32(w.out, v, r.pos-at)
		w.from = r.pos
	}
}

func (w *walker) blockType() {
	r := &w.r
	if r.pos < r.end {
		if b := r.b[r.pos]; b == 0x40 || b >= 0x40 && b < 0x80 && isValType(b) {
			r.pos++
			return
		}
	}
	if r.s33() < 0 {
		r.pos--
		r.fail("unknown block type")
	}
}

func (w *walker) open() {
	w.depth++
	if w.depth > uint64(w.m.rep.MaxNestingDepth) {
		w.m.rep.MaxNestingDepth = int(w.depth)
	}
	if w.depth > w.m.lim.MaxNestingDepth {
		w.r.limit("MaxNestingDepth", w.depth, w.m.lim.MaxNestingDepth)
	}
}

func (w *walker) memarg() {
	if w.r.u32() >= 64 {
		w.r.fail("memory index in memarg: multiple memories are not supported")
	}
	w.r.u32()
}

// expr walks one expression up to and including its final end. fn marks a function
// body, where loops get checks.
func (w *walker) expr(fn bool) {
	r := &w.r
	w.depth = 0
	for {
		if r.pos >= r.end {
			r.fail("expression without end")
		}
		at := r.pos
		op := r.b[at]
		r.pos++
		k := opKinds[op]
		switch k {
		case kPrefixFC:
			k = w.prefixed(at, fcKinds[:])
		case kPrefixFD:
			k = w.prefixed(at, fdKinds[:])
		case kPrefixFE:
			k = w.prefixed(at, feKinds[:])
		}
		if w.prefix && op != 0x02 {
			if op == 0x03 {
				w.flags |= fnLoopFirst
			}
			w.prefix = false
		}
		switch k {
		case kNone:
		case kU32:
			r.u32()
		case kEnd:
			if w.depth == 0 {
				return
			}
			w.depth--
		case kBlock:
			w.blockType()
			w.open()
		case kLoop:
			w.blockType()
			w.open()
			if fn {
				w.flags |= fnHasLoop
				if !w.emit {
					w.m.rep.Loops++
				}
				if w.check != nil {
					w.flush(r.pos)
					w.out = append(w.out, w.check...)
				}
			}
		case kCall:
			w.funcIdx()
			w.flags |= fnHasCall
		case kCallInd:
			r.u32()
			r.u32()
			w.flags |= fnHasCall
		case kFunc:
			w.funcIdx()
		case kMemarg:
			w.memarg()
		case kI32:
			r.s32()
		case kI64:
			r.s64()
		case kF32:
			r.bytes(4)
		case kF64:
			r.bytes(8)
		case kBrTable:
			n := r.count("MaxBrTableTargets", w.m.lim.MaxBrTableTargets, 1)
			w.m.rep.MaxBrTableTargets = max(w.m.rep.MaxBrTableTargets, int(n))
			for i := uint32(0); i <= n; i++ {
				r.u32()
			}
		case kSelectT:
			w.m.valTypes(r)
		case kRefNull:
			if b := r.byte(); b != 0x70 && b != 0x6F && b != 0x69 {
				r.pos--
				r.fail("unknown heap type 0x%02x", b)
			}
		case kTryTable:
			w.blockType()
			n := r.count("MaxBrTableTargets", w.m.lim.MaxBrTableTargets, 2)
			for i := uint32(0); i < n; i++ {
				switch r.byte() {
				case 0, 1: // catch, catch_ref: tag, label
					r.u32()
					r.u32()
				case 2, 3: // catch_all, catch_all_ref: label
					r.u32()
				default:
					r.pos--
					r.fail("unknown catch clause 0x%02x", r.b[r.pos])
				}
			}
			w.open()
		case kU32x2:
			r.u32()
			r.u32()
		case kMemInit:
			r.u32()
			r.u32()
			w.m.rep.UsesMemoryInit = true
		case kDataDrop:
			r.u32()
			w.m.rep.UsesDataDrop = true
		case kMemLane:
			w.memarg()
			r.byte()
		case kV128:
			r.bytes(16)
		case kLane:
			r.byte()
		case kZeroByte:
			if r.byte() != 0 {
				r.pos--
				r.fail("atomic.fence: reserved byte must be zero")
			}
		default:
			r.pos = at
			r.fail("unknown or unsupported opcode 0x%02x", op)
		}
	}
}

// prefixed reads the sub-opcode after a prefix byte and returns its kind.
func (w *walker) prefixed(at int, kinds []uint8) uint8 {
	sub := w.r.u32()
	if uint64(sub) < uint64(len(kinds)) && kinds[sub] != kUnknown {
		return kinds[sub]
	}
	w.r.pos = at
	w.r.fail("unknown or unsupported opcode 0x%02x %d", w.r.b[at], sub)
	return kUnknown
}
