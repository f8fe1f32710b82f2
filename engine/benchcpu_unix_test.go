//go:build unix

package engine

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the test process has used so far. Benchmarks
// report it per op beside ns/op because wall time on a shared machine also
// counts the time other processes held the CPU.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
