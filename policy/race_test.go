//go:build race

package policy

// raceEnabled lets the allocation test skip what the race detector itself
// allocates: under -race, sync.Pool drops items at random, so regexp's
// pooled matchers are sometimes rebuilt.
const raceEnabled = true
