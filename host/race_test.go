//go:build race

package host_test

// raceEnabled lets a test skip a timing comparison that measures the race detector
// rather than the host. Measured with a WAT guest that only calls try and throw (no
// Lua): 2.4 µs per caught throw, flat, without -race; with -race each batch of 10,000
// takes about 0.3 s longer than the one before. Something the race runtime keeps grows
// with every Go panic that unwinds through wazero's trampolines.
const raceEnabled = true
