//go:build !unix

package benchtest

import "time"

// CPU returns 0: the process CPU time is not available here, and ReportCPU
// then reports nothing.
func CPU() time.Duration { return 0 }
