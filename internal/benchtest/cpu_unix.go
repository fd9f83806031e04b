//go:build unix

package benchtest

import (
	"syscall"
	"time"
)

// CPU returns the CPU time (user plus system) the process has used so far,
// or 0 if it cannot be read.
func CPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
