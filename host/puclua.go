package host

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"
)

// The built-in Lua guests a module can choose with `guest:` in its config, --guest on
// the CLI, or WithDefaultGuest.
const (
	// GuestGopherLua is gopher-lua compiled by Go to wasm (./guest): the default.
	GuestGopherLua = "gopher-lua"
	// GuestPucLua is PUC Lua 5.1.5 compiled by clang (./guest/puclua): much faster and
	// smaller; docs/decisions.md lists how it differs.
	GuestPucLua = "puc-lua"
)

// pucLuaGz is the PUC Lua guest, built by `make puclua` and committed gzipped.
//
//go:embed puclua.wasm.gz
var pucLuaGz []byte

// WithDefaultGuest sets the Lua guest of modules whose config names none: GuestGopherLua
// (the default) or GuestPucLua.
func WithDefaultGuest(name string) Option { return func(o *options) { o.defaultGuest = name } }

// checkGuestName refuses an unknown guest name.
func checkGuestName(name string) error {
	switch name {
	case "", GuestGopherLua, GuestPucLua:
		return nil
	}
	return fmt.Errorf("unknown guest %q (%s, %s)", name, GuestGopherLua, GuestPucLua)
}

// builtinGuests holds the PUC Lua guest, decompressed on first use.
type builtinGuests struct {
	once sync.Once
	puc  *Guest
	err  error
}

// guestFor returns the Lua guest of a run: the one named, else the module config's, else
// the host's default.
func (h *Host) guestFor(module, name string) (*Guest, error) {
	if err := checkGuestName(name); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if name == "" {
		name = h.cfg.Modules[module].Guest
	}
	if name == "" {
		name = h.opts.defaultGuest
	}
	if name != GuestPucLua {
		return h.lua, nil
	}
	h.builtin.once.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(pucLuaGz))
		if err != nil {
			h.builtin.err = fmt.Errorf("host: the embedded puc-lua guest: %w", err)
			return
		}
		wasm, err := io.ReadAll(zr)
		if err != nil {
			h.builtin.err = fmt.Errorf("host: the embedded puc-lua guest: %w", err)
			return
		}
		h.builtin.puc = &Guest{wasm: wasm}
	})
	return h.builtin.puc, h.builtin.err
}
