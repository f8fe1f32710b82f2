package host

import (
	"context"
	"maps"
	"reflect"
)

// Reload builds a host for a new configuration that takes over the stores of h whose
// definition did not change, data included (a memory store keeps its keys, a Redis store
// its connections); every other store is built afresh. h keeps serving until the caller
// retires it with Retire, so runs in flight finish on the configuration they started on.
func (h *Host) Reload(ctx context.Context, cfg *Config, opts ...Option) (*Host, error) {
	if cfg == nil {
		return nil, configErrorf("no configuration")
	}
	// A validation error must name the configuration as written, before stores move.
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	kept := map[string]*Store{}
	fresh := *cfg
	fresh.Stores = maps.Clone(cfg.Stores)
	for id, sc := range cfg.Stores {
		if old, ok := h.stores[id]; ok && reflect.DeepEqual(h.cfg.Stores[id], sc) {
			kept[id] = old
			delete(fresh.Stores, id)
		}
	}
	n, err := New(ctx, &fresh, opts...)
	if err != nil {
		return nil, err
	}
	// n has run nothing yet (New only prewarms instances), so it is still ours alone.
	maps.Copy(n.stores, kept)
	n.cfg = cfg
	return n, nil
}

// Retire closes h after a Reload to next, leaving open the stores that next took over.
// Call it once no run is in flight on h.
func (h *Host) Retire(ctx context.Context, next *Host) error {
	for id, s := range h.stores {
		if next != nil && next.stores[id] == s {
			delete(h.stores, id)
		}
	}
	return h.Close(ctx)
}
