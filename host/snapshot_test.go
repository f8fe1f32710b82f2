package host_test

import (
	"runtime"

	"github.com/wasmkv/wasmkv/host"
)

// snapshotMode is one way an instance can get its snapshot and go back to it.
type snapshotMode struct {
	name   string
	opt    host.Option
	reuses bool // instances serve more than one run
}

// snapshotModes: the isolation tests run under each one this system has.
var snapshotModes = func() []snapshotMode {
	modes := []snapshotMode{
		{"copy-image/copy-back", host.WithSnapshotMode("copy", "copy"), true},
		{"copy-image/recycle", host.WithSnapshotMode("copy", "recycle"), false},
	}
	if runtime.GOOS == "linux" {
		modes = append(modes,
			snapshotMode{"mapped-image/copy-back", host.WithSnapshotMode("map", "copy"), true},
			snapshotMode{"mapped-image/remap", host.WithSnapshotMode("map", "remap"), true})
	}
	return modes
}()
