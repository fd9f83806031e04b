//go:build !unix

package ipam

import "time"

// processCPU is not available here; benchmarks then omit cpu-ns/op.
func processCPU() time.Duration { return 0 }
