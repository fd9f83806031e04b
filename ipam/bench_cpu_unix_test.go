//go:build unix

package ipam

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user plus system) used by the process so
// far, so that benchmarks can report CPU cost per operation, which stays
// meaningful when other processes compete for the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
