// Package benchtest reports the process CPU time per operation in lbkit's
// benchmarks, beside the wall time that testing measures. On a shared
// machine, other load stretches wall time more than the CPU time of the
// process itself, so cpu-ns/op is the steadier number to compare. It counts
// every thread of the process, the garbage collector's included.
//
//	start := benchtest.CPU()
//	for b.Loop() { ... }
//	benchtest.ReportCPU(b, start, b.N)
//
// Not part of lbkit's API.
package benchtest

import "time"

// A Reporter is where ReportCPU reports; *testing.B is one.
type Reporter interface {
	ReportMetric(n float64, unit string)
}

// ReportCPU reports the process CPU time used since start (a value of CPU)
// divided by ops, as the metric "cpu-ns/op". It reports nothing when ops is
// 0 or CPU time is not available here (start is 0).
func ReportCPU(b Reporter, start time.Duration, ops int) {
	if start == 0 || ops <= 0 {
		return
	}
	b.ReportMetric(float64((CPU()-start).Nanoseconds())/float64(ops), "cpu-ns/op")
}
