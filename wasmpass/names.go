package wasmpass

// appendNameSection writes the custom "name" section s with function indices shifted
// past the added import, and a name for the import, so that stack traces keep their
// function names. Label names are dropped (the inserted checks add blocks, which
// renumbers labels). The section is debugging information only: one the pass cannot
// read is dropped rather than refused, since the module runs the same without it.
func appendNameSection(out []byte, m *module, s section) (res []byte) {
	mark := len(out)
	defer func() {
		if e := recover(); e != nil {
			switch e.(type) {
			case *Error, *LimitError:
			default:
				panic(e)
			}
			res = out[:mark]
		}
	}()
	r := &reader{b: m.src, pos: s.payload, end: s.end, where: "name section"}
	r.name()
	out = append(out, secCustom, 0, 0, 0, 0, 0)
	at := len(out)
	out = append(out, m.src[s.payload:r.pos]...)
	end := r.end
	for r.pos < end {
		id := r.byte()
		r.end = end
		sat := r.pos
		size := r.u32()
		swidth := r.pos - sat
		r.bytes(uint64(size))
		sub := r.pos
		r.pos, r.end = sub-int(size), sub
		if id == 3 && m.instrument {
			r.pos = sub
			continue
		}
		out = append(out, id, 0, 0, 0, 0, 0)
		sat = len(out)
		switch id {
		case 1, 2, 3: // function names; local and label names per function
			cat := r.pos
			n := r.count("MaxFunctions", m.lim.MaxFunctions, 2)
			add := uint32(0)
			if id == 1 && m.shift != 0 {
				add = 1
			}
			out = appendU32(out, n+add, r.pos-cat)
			for i := uint32(0); i < n; i++ {
				iat := r.pos
				idx := r.u32()
				if idx >= m.numFuncs {
					r.fail("function index %d out of range", idx)
				}
				if idx >= m.numImportFuncs {
					if add == 1 {
						out = appendName(appendU32(out, m.checkFunc, 0), PreemptModule+"."+PreemptFunc)
						add = 0
					}
					idx += m.shift
				}
				out = appendU32(out, idx, r.pos-iat)
				from := r.pos
				if id == 1 {
					r.name()
				} else {
					for range r.count("MaxLocalsPerFunction", m.lim.MaxLocalsPerFunction, 2) {
						r.u32()
						r.name()
					}
				}
				out = append(out, m.src[from:r.pos]...)
			}
			if add == 1 {
				out = appendName(appendU32(out, m.checkFunc, 0), PreemptModule+"."+PreemptFunc)
			}
		default: // names of modules, types, tables, ...: no function indices
			r.pos = sub
			out = append(out, m.src[sub-int(size):sub]...)
		}
		if r.pos != sub {
			r.fail("malformed subsection %d", id)
		}
		out = fixSize(out, sat, swidth)
	}
	return fixSize(out, at, s.sizeWidth)
}
