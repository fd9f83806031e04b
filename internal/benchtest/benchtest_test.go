package benchtest_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/lbkit/lbkit/internal/benchtest"
)

type metrics map[string]float64

func (m metrics) ReportMetric(n float64, unit string) { m[unit] = n }

// spin burns at least d of CPU time in this goroutine.
func spin(d time.Duration) {
	for start := benchtest.CPU(); benchtest.CPU()-start < d; {
	}
}

func TestReportCPU(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no process CPU time here")
	}
	start := benchtest.CPU()
	if start <= 0 {
		t.Fatalf("CPU() = %v, want > 0 after the test binary's start-up", start)
	}
	spin(20 * time.Millisecond)
	m := metrics{}
	benchtest.ReportCPU(m, start, 10)
	if got := m["cpu-ns/op"]; got < 2e6 {
		t.Fatalf("cpu-ns/op = %v after 20 ms of CPU over 10 ops, want ≥ 2,000,000", got)
	}

	m = metrics{}
	benchtest.ReportCPU(m, start, 0)
	benchtest.ReportCPU(m, 0, 10)
	if len(m) != 0 {
		t.Fatalf("reported %v with no ops or no start", m)
	}
}

// A benchmark reports cpu-ns/op beside ns/op.
func ExampleReportCPU() {
	m := metrics{} // a *testing.B in a benchmark
	start := benchtest.CPU()
	spin(time.Millisecond)
	benchtest.ReportCPU(m, start, 1)
	fmt.Println(m["cpu-ns/op"] >= 1e6)
	// Output: true
}
