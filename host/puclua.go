package host

import (
	"fmt"
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

// pucLuaGuest is the file of the PUC Lua guest, built by `make puclua` and committed
// gzipped (host/puclua.wasm.gz, embedded with the others by guest.go).
const pucLuaGuest = "puclua.wasm"

// embeddedPucLua is the PUC Lua guest, decompressed on first use and shared by every
// host of the process, as embeddedLua is.
var embeddedPucLua = sync.OnceValue(func() *Guest { return &Guest{wasm: embeddedGuest(pucLuaGuest)} })

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

// guestFor returns the Lua guest of a run: the one named, else the module config's, else
// the host's default.
func (h *Host) guestFor(module, name string) (*Guest, error) {
	if err := checkGuestName(name); err != nil {
		return nil, configErrorf("%v", err) // Run reports it as Invalid
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
	return embeddedPucLua(), nil
}
