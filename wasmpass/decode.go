package wasmpass

import "strconv"

// Section ids, and the order in which they must appear (custom sections anywhere).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

var sectionRank = [14]int{0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6}

var sectionNames = [14]string{"custom", "type", "import", "function", "table", "memory",
	"global", "export", "start", "element", "code", "data", "data count", "tag"}

type section struct {
	id           byte
	start        int // offset of the id byte
	sizeWidth    int // bytes of the size field
	payload, end int
	name         string // custom sections
}

// module is what the first pass learns; the second pass writes from it.
type module struct {
	src  []byte
	lim  Limits
	rep  Report
	secs []section

	nTypes         uint32
	emptyType      int64    // index of the type (func), -1 when there is none
	params         []uint32 // parameter count per type
	funcTypes      []uint32 // type index per defined function
	fnFlags        []uint8  // per defined function, from the first pass
	numImportFuncs uint32
	numFuncs       uint32
	numGlobals     uint32
	numTables      uint64 // imported and defined, as the next three
	numMemories    uint64
	numTags        uint64
	exports        map[string]bool
	importsPreempt bool

	// set for the second pass
	shift      uint32 // added to defined function indices
	force      bool   // tests: re-encode every immediate even when nothing shifts
	instrument bool   // insert the countdown checks
	countdown  uint32 // index of the countdown global
	checkFunc  uint32 // index of the imported check function
}

func isValType(b byte) bool {
	switch b {
	case 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F, 0x69:
		return true
	}
	return false
}

func (m *module) valType(r *reader) byte {
	b := r.byte()
	if !isValType(b) {
		r.pos--
		r.fail("unknown value type 0x%02x", b)
	}
	return b
}

// valTypes reads a vector of value types: parameters, results, select's type.
func (m *module) valTypes(r *reader) uint32 {
	n := r.count("MaxParamsResults", m.lim.MaxParamsResults, 1)
	for range n {
		m.valType(r)
	}
	return n
}

func (m *module) refType(r *reader) {
	if b := m.valType(r); b != 0x70 && b != 0x6F && b != 0x69 {
		r.pos--
		r.fail("not a reference type: 0x%02x", b)
	}
}

// limits reads table or memory limits and returns min and max (max -1 when absent).
func (m *module) limits(r *reader, memory bool) (uint64, int64) {
	flags := r.byte()
	if flags > 3 || !memory && flags > 1 {
		r.pos--
		r.fail("unsupported limits flags 0x%02x (64-bit or shared)", flags)
	}
	min := uint64(r.u32())
	if flags&1 == 0 {
		if flags == 2 {
			r.fail("shared memory without a maximum")
		}
		return min, -1
	}
	return min, int64(r.u32())
}

func (m *module) table(r *reader) {
	m.numTables++
	r.limit("MaxTables", m.numTables, m.lim.MaxTables)
	m.refType(r)
	min, _ := m.limits(r, false)
	r.limit("MaxTableElements", min, m.lim.MaxTableElements)
}

func (m *module) memory(r *reader, imported bool) {
	m.numMemories++
	r.limit("MaxMemories", m.numMemories, m.lim.MaxMemories)
	m.rep.HasMemory = true
	m.rep.MemoryImported = imported
	shared := r.pos < r.end && r.b[r.pos]&2 != 0 // the limits' flags
	min, max := m.limits(r, true)
	m.rep.MemoryMin, m.rep.MemoryShared = min, shared
	if max >= 0 {
		m.rep.MemoryMax, m.rep.HasMemoryMax = uint64(max), true
	}
}

func (m *module) global(r *reader, imported bool) {
	g := Global{Index: m.numGlobals, Type: m.valType(r), Imported: imported}
	switch r.byte() {
	case 0:
	case 1:
		g.Mutable = true
		m.rep.MutableGlobals++
		if imported {
			m.rep.ImportedMutableGlobals++
		} else {
			g.Export = GlobalExportPrefix + strconv.Itoa(int(g.Index))
		}
	default:
		r.pos--
		r.fail("unknown global mutability 0x%02x", r.b[r.pos])
	}
	m.numGlobals++
	r.limit("MaxGlobals", uint64(m.numGlobals), m.lim.MaxGlobals)
	m.rep.Globals = append(m.rep.Globals, g)
}

func (m *module) typeIdx(r *reader) uint32 {
	t := r.u32()
	if t >= m.nTypes {
		r.fail("type index %d out of range (%d types)", t, m.nTypes)
	}
	return t
}

// decode is the first pass: every section, every instruction, every limit.
func decode(src []byte, lim Limits) *module {
	m := &module{src: src, lim: lim.withDefaults(), emptyType: -1, exports: map[string]bool{}}
	r := &reader{b: src, end: len(src), where: "module"}
	r.limit("MaxModuleBytes", uint64(len(src)), m.lim.MaxModuleBytes)
	if len(src) < 8 || string(src[:4]) != "\x00asm" {
		r.fail("not a WebAssembly module (bad magic)")
	}
	if string(src[4:8]) != "\x01\x00\x00\x00" {
		r.fail("unsupported binary version (only core modules, version 1)")
	}
	r.pos = 8
	last := 0
	seen := uint32(0)
	for r.pos < len(src) {
		s := section{start: r.pos}
		r.where, r.end = "module", len(src)
		s.id = r.byte()
		if s.id > secTag {
			r.pos--
			r.fail("unknown section id %d", s.id)
		}
		at := r.pos
		size := r.u32()
		s.sizeWidth = r.pos - at
		r.bytes(uint64(size))
		s.payload, s.end = at+s.sizeWidth, r.pos
		r.pos, r.end = s.payload, s.end
		r.where = sectionNames[s.id] + " section"
		if s.id != secCustom {
			if rank := sectionRank[s.id]; rank <= last {
				r.pos = s.start
				r.fail("section out of order or repeated")
			} else {
				last = rank
			}
			seen |= 1 << s.id
		}
		m.section(r, &s)
		if r.pos != r.end {
			r.fail("%d bytes left at the end of the section", r.end-r.pos)
		}
		m.secs = append(m.secs, s)
		r.pos = s.end
	}
	r.where = "module"
	if seen&(1<<secCode) == 0 && len(m.funcTypes) > 0 {
		r.fail("function section without code section")
	}
	m.rep.Functions = len(m.funcTypes)
	m.rep.ImportedFuncs = int(m.numImportFuncs)
	return m
}

func (m *module) section(r *reader, s *section) {
	l := &m.lim
	w := &walker{m: m, r: *r}
	defer func(outer *reader) { *outer = w.r }(r)
	r = &w.r
	switch s.id {
	case secCustom:
		s.name = r.name()
		r.pos = r.end
	case secType:
		n := r.count("MaxTypes", l.MaxTypes, 3)
		m.nTypes = n
		m.params = make([]uint32, n)
		for i := range n {
			if r.byte() != 0x60 {
				r.pos--
				r.fail("type %d: only function types are supported", i)
			}
			np, nr := m.valTypes(r), m.valTypes(r)
			m.params[i] = np
			if np == 0 && nr == 0 && m.emptyType < 0 {
				m.emptyType = int64(i)
			}
		}
	case secImport:
		n := r.count("MaxImports", l.MaxImports, 4)
		for range n {
			mod := r.name()
			r.name()
			if mod == PreemptModule {
				m.importsPreempt = true
			}
			switch kind := r.byte(); kind {
			case 0:
				m.typeIdx(r)
				m.numImportFuncs++
				m.numFuncs++
				r.limit("MaxFunctions", uint64(m.numFuncs), l.MaxFunctions)
			case 1:
				m.table(r)
			case 2:
				m.memory(r, true)
			case 3:
				m.global(r, true)
			case 4:
				m.tag(r)
			default:
				r.pos--
				r.fail("unknown import kind %d", kind)
			}
		}
	case secFunction:
		n := r.count("MaxFunctions", l.MaxFunctions, 1)
		r.limit("MaxFunctions", uint64(m.numFuncs)+uint64(n), l.MaxFunctions)
		m.funcTypes = make([]uint32, n)
		m.fnFlags = make([]uint8, n)
		for i := range n {
			m.funcTypes[i] = m.typeIdx(r)
		}
		m.numFuncs += n
	case secTable:
		n := r.count("MaxTables", l.MaxTables, 3)
		for range n {
			m.table(r)
		}
	case secMemory:
		n := r.count("MaxMemories", l.MaxMemories, 2)
		for range n {
			m.memory(r, false)
		}
	case secTag:
		n := r.count("MaxTags", l.MaxTags, 2)
		for range n {
			m.tag(r)
		}
	case secGlobal:
		n := r.count("MaxGlobals", l.MaxGlobals, 3)
		for range n {
			m.global(r, false)
			w.expr(false)
		}
	case secExport:
		n := r.count("MaxExports", l.MaxExports, 3)
		for range n {
			name := r.name()
			if m.exports[name] {
				r.fail("duplicate export %q", name)
			}
			m.exports[name] = true
			switch kind := r.byte(); kind {
			case 0:
				w.funcIdx()
			case 1, 2, 3, 4:
				r.u32()
			default:
				r.pos--
				r.fail("unknown export kind %d", kind)
			}
		}
	case secStart:
		m.rep.HasStart = true
		m.rep.StartFunc = r.u32()
		r.pos = s.payload
		w.funcIdx()
	case secElement:
		m.elements(w)
	case secDataCount:
		r.u32()
	case secCode:
		m.code(w)
	case secData:
		n := r.count("MaxDataSegments", l.MaxDataSegments, 2)
		m.rep.DataSegments = int(n)
		m.rep.ActiveData = make([]DataSegment, 0, n)
		for range n {
			flags := r.u32()
			if flags > 2 {
				r.fail("unknown data segment flags %d", flags)
			}
			if flags == 2 && r.u32() != 0 {
				r.fail("data segment for a memory other than 0")
			}
			var seg DataSegment
			if flags != 1 { // active: an offset
				at := r.pos
				w.expr(false)
				if e := r.b[at:r.pos]; e[0] == 0x41 && e[len(e)-1] == 0x0B {
					er := reader{b: e, pos: 1, end: len(e) - 1}
					seg.Offset, seg.ConstOffset = uint32(er.s32()), er.pos == er.end
				}
			}
			n := r.u32()
			seg.At = r.pos
			seg.Bytes = r.bytes(uint64(n))
			m.rep.DataBytes += len(seg.Bytes)
			if flags != 1 {
				m.rep.ActiveData = append(m.rep.ActiveData, seg)
			}
		}
	}
}

func (m *module) tag(r *reader) {
	m.numTags++
	r.limit("MaxTags", m.numTags, m.lim.MaxTags)
	if r.byte() != 0 {
		r.pos--
		r.fail("unknown tag attribute")
	}
	m.typeIdx(r)
}

// elements reads the element section: all eight segment forms.
func (m *module) elements(w *walker) {
	r := &w.r
	n := r.count("MaxElementSegments", m.lim.MaxElementSegments, 2)
	total := uint64(0)
	for range n {
		flags := r.u32()
		if flags > 7 {
			r.fail("unknown element segment flags %d", flags)
		}
		if flags&3 == 2 { // active with a table index
			r.u32()
		}
		if flags&1 == 0 { // active: offset
			w.expr(false)
		}
		if flags&3 != 0 { // element kind or reference type
			if flags&4 == 0 {
				if r.byte() != 0 {
					r.pos--
					r.fail("unknown element kind")
				}
			} else {
				m.refType(r)
			}
		}
		k := r.count("MaxTableElements", m.lim.MaxTableElements, 1)
		total += uint64(k)
		r.limit("MaxTableElements", total, m.lim.MaxTableElements)
		for range k {
			if flags&4 == 0 {
				w.funcIdx()
			} else {
				w.expr(false)
			}
		}
	}
}

// code reads the code section, or, when w.emit, writes it with its checks.
func (m *module) code(w *walker) {
	r := &w.r
	n := w.vecCount("MaxFunctions", m.lim.MaxFunctions, 2, 0)
	if int(n) != len(m.funcTypes) {
		r.fail("%d function bodies for %d functions", n, len(m.funcTypes))
	}
	end := r.end
	var check []byte
	for i := range n {
		r.where = "code section, function " + strconv.Itoa(int(m.numImportFuncs+i))
		at := r.pos
		size := r.u32()
		width := r.pos - at
		r.limit("MaxFunctionBodyBytes", uint64(size), m.lim.MaxFunctionBodyBytes)
		r.bytes(uint64(size))
		r.end = r.pos
		r.pos -= int(size)
		var body int
		if w.emit {
			w.flush(at)
			w.out = append(w.out, 0, 0, 0, 0, 0)
			body = len(w.out)
			w.from = r.pos
		}
		// Locals: parameters and declared locals count against the limit.
		total := uint64(m.params[m.funcTypes[i]])
		cat := r.pos
		nl := r.count("MaxLocalsPerFunction", m.lim.MaxLocalsPerFunction, 2)
		cwidth := r.pos - cat
		for range nl {
			total += uint64(r.u32())
			r.limit("MaxLocalsPerFunction", total, m.lim.MaxLocalsPerFunction)
			m.valType(r)
		}
		m.rep.MaxLocals = max(m.rep.MaxLocals, int(total))
		m.rep.MaxFunctionBodyBytes = max(m.rep.MaxFunctionBodyBytes, int(size))
		flags := m.fnFlags[i]
		w.check = nil
		if w.emit && m.instrument && flags&(fnHasLoop|fnHasCall) != 0 {
			// One i32 local for the check, appended after every other local.
			w.flush(cat)
			w.out = appendU32(w.out, nl+1, cwidth)
			w.from = cat + cwidth
			w.flush(r.pos)
			w.out = append(w.out, 1, 0x7F)
			check = m.checkCode(check[:0], uint32(total))
			w.check = check
			if flags&fnHasCall != 0 && flags&fnLoopFirst == 0 {
				w.out = append(w.out, check...)
			}
		}
		w.flags, w.prefix = 0, true
		w.expr(true)
		if r.pos != r.end {
			r.fail("%d bytes after the end of the function body", r.end-r.pos)
		}
		if w.emit {
			w.flush(r.pos)
			w.out = fixSize(w.out, body, width)
		} else {
			m.fnFlags[i] = w.flags
		}
		r.end = end
	}
	r.where = "code section"
}

// fixSize writes the size of out[at:] in the five bytes reserved before it, keeping
// the original width when it fits, and closes the gap.
func fixSize(out []byte, at, width int) []byte {
	var tmp [5]byte
	e := appendU32(tmp[:0], uint32(len(out)-at), width)
	copy(out[at-5:], e)
	if len(e) < 5 {
		n := copy(out[at-5+len(e):], out[at:])
		out = out[:at-5+len(e)+n]
	}
	return out
}

// vecCount reads a vector count; when writing, it writes the count plus add.
func (w *walker) vecCount(name string, max uint64, minBytes int, add uint32) uint32 {
	r := &w.r
	at := r.pos
	n := r.count(name, max, minBytes)
	if w.emit && (add != 0 || w.m.force) {
		w.flush(at)
		w.out = appendU32(w.out, n+add, r.pos-at)
		w.from = r.pos
	}
	return n
}
