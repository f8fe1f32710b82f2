package wasmpass

import (
	"slices"
	"strings"
)

// plan is what the second pass adds and drops.
type plan struct {
	preempt, snapshot bool
	addType           bool   // append the type (func)
	checkType         uint32 // the check import's type
}

// encode is the second pass. Sections it does not change are copied whole.
func encode(m *module, p plan) []byte {
	w := &walker{m: m, emit: true, r: reader{b: m.src, end: len(m.src)}}
	w.out = make([]byte, 0, len(m.src)+len(m.src)/8+64)
	w.out = append(w.out, m.src[:8]...)
	if p.preempt {
		m.shift, m.instrument = 1, true
		m.checkFunc, m.countdown = m.numImportFuncs, m.numGlobals
	}
	// Sections the rewrite adds to that the module lacks are written in their place.
	var missing []byte
	for _, id := range []byte{secType, secImport, secGlobal, secExport} {
		if w.added(id, p) > 0 && !slices.ContainsFunc(m.secs, func(s section) bool { return s.id == id }) {
			missing = append(missing, id)
		}
	}
	writeMissing := func(before int) {
		for i := 0; i < len(missing); {
			if id := missing[i]; sectionRank[id] < before {
				w.out = append(w.out, id, 0, 0, 0, 0, 0)
				at := len(w.out)
				w.out = appendU32(w.out, w.added(id, p), 0)
				w.appendItems(id, p)
				w.out = fixSize(w.out, at, 0)
				missing = append(missing[:i], missing[i+1:]...)
			} else {
				i++
			}
		}
	}
	for _, s := range m.secs {
		if s.id != secCustom {
			writeMissing(sectionRank[s.id])
		}
		if p.snapshot && (s.id == secData || s.id == secDataCount || s.id == secStart) {
			continue
		}
		if m.instrument && strings.HasPrefix(s.name, ".debug_") {
			continue // DWARF addresses code offsets, which the checks move
		}
		if !w.changes(s, p) {
			w.out = append(w.out, m.src[s.start:s.end]...)
			continue
		}
		if s.id == secCustom { // the name section, with function indices shifted
			w.out = appendNameSection(w.out, m, s)
			continue
		}
		w.out = append(w.out, s.id, 0, 0, 0, 0, 0)
		at := len(w.out)
		w.r.pos, w.r.end, w.from = s.payload, s.end, s.payload
		w.section(s, p)
		w.flush(s.end)
		w.appendItems(s.id, p)
		w.out = fixSize(w.out, at, s.sizeWidth)
	}
	writeMissing(len(sectionRank))
	return w.out
}

// changes says whether section s must be rewritten rather than copied.
func (w *walker) changes(s section, p plan) bool {
	shifts := w.m.shift != 0 || w.m.force
	switch s.id {
	case secCustom:
		return s.name == "name" && shifts
	case secType:
		return p.addType || w.m.force
	case secImport, secGlobal:
		return p.preempt || shifts
	case secExport:
		return p.preempt || p.snapshot || shifts
	case secStart, secElement, secCode:
		return shifts || w.m.instrument
	}
	return false
}

// section rewrites the body of one section: counts that grow, function indices,
// and the code.
func (w *walker) section(s section, p plan) {
	m, r := w.m, &w.r
	switch add := w.added(s.id, p); s.id {
	case secType:
		w.vecCount("MaxTypes", m.lim.MaxTypes, 3, add)
	case secImport:
		w.vecCount("MaxImports", m.lim.MaxImports, 4, add)
	case secGlobal:
		for range w.vecCount("MaxGlobals", m.lim.MaxGlobals, 3, add) {
			r.pos += 2 // value type and mutability, checked by the first pass
			w.expr(false)
		}
	case secExport:
		for range w.vecCount("MaxExports", m.lim.MaxExports, 3, add) {
			r.name()
			if r.byte() == 0 {
				w.funcIdx()
			} else {
				r.u32()
			}
		}
	case secStart:
		w.funcIdx()
	case secElement:
		m.elements(w)
	case secCode:
		m.code(w)
	}
	r.pos = r.end // type and import entries are copied as they are
}

// added is the number of entries the rewrite appends to section id.
func (w *walker) added(id byte, p plan) uint32 {
	n := uint32(0)
	switch {
	case id == secType && p.addType, id == secImport && p.preempt, id == secGlobal && p.preempt:
		n = 1
	case id == secExport:
		if p.preempt {
			n++
		}
		for _, g := range w.m.rep.Globals {
			if p.snapshot && g.Export != "" {
				n++
			}
		}
	}
	return n
}

// appendItems appends what the rewrite adds at the end of a section.
func (w *walker) appendItems(id byte, p plan) {
	m := w.m
	switch id {
	case secType:
		if p.addType {
			w.out = append(w.out, 0x60, 0, 0)
		}
	case secImport:
		if p.preempt {
			w.out = appendName(w.out, PreemptModule)
			w.out = appendName(w.out, PreemptFunc)
			w.out = append(w.out, 0)
			w.out = appendU32(w.out, p.checkType, 0)
		}
	case secGlobal:
		if p.preempt { // (global (mut i32) (i32.const CountdownStart))
			w.out = append(w.out, 0x7F, 1, 0x41)
			w.out = appendS32(w.out, CountdownStart)
			w.out = append(w.out, 0x0B)
		}
	case secExport:
		if p.preempt {
			w.out = appendName(w.out, CountdownExport)
			w.out = append(w.out, 3)
			w.out = appendU32(w.out, m.countdown, 0)
		}
		if p.snapshot {
			for _, g := range m.rep.Globals {
				if g.Export != "" {
					w.out = appendName(w.out, g.Export)
					w.out = append(w.out, 3)
					w.out = appendU32(w.out, g.Index, 0)
				}
			}
		}
	}
}

func appendName(out []byte, s string) []byte {
	return append(appendU32(out, uint32(len(s)), 0), s...)
}

func appendS32(out []byte, v int32) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v == 0 && b&0x40 == 0 || v == -1 && b&0x40 != 0 {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

// checkCode is the countdown check, with tmp the function's added local:
//
//	global.get $countdown  i32.const 1  i32.sub  local.tee $tmp  global.set $countdown
//	local.get $tmp  i32.const 0  i32.le_s  if  call $check  end
func (m *module) checkCode(out []byte, tmp uint32) []byte {
	out = appendU32(append(out, 0x23), m.countdown, 0)
	out = appendU32(append(out, 0x41, 1, 0x6B, 0x22), tmp, 0)
	out = appendU32(append(out, 0x24), m.countdown, 0)
	out = appendU32(append(out, 0x20), tmp, 0)
	out = appendU32(append(out, 0x41, 0, 0x4C, 0x04, 0x40, 0x10), m.checkFunc, 0)
	return append(out, 0x0B)
}
