package ipam_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/lbkit/lbkit/internal/benchtest"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// benchManager returns a manager with 10 pools (v4 /16 and v6 /64 each,
// selecting tier=t0..t9, with equal priorities) and n services assigned,
// spread over the pools.
func benchManager(b *testing.B, n int) *ipam.Manager {
	b.Helper()
	m := ipam.NewManager()
	for i := range 10 {
		setPool(b, m, ipam.Pool{
			Name:            fmt.Sprintf("pool%d", i),
			Ranges:          rangesOf(fmt.Sprintf("10.%d.0.0/16", i), fmt.Sprintf("2001:db8:%d::/64", i)),
			ServiceSelector: selector.MustParse(fmt.Sprintf("tier=t%d", i)),
		})
	}
	for i := range n {
		_, err := m.Assign(ipam.Request{Key: fmt.Sprintf("ns%d/svc%d", i%100, i),
			Labels: selector.Set{"tier": fmt.Sprintf("t%d", i%10), "app": "x"}})
		if err != nil {
			b.Fatal(err)
		}
	}
	return m
}

// BenchmarkManagerAssignRelease measures one Assign of a new dual-stack
// service (which tries the pools in order: the one selecting it is the
// last) plus its Release, with 100,000 services assigned. Goal ≤ 2 µs.
func BenchmarkManagerAssignRelease(b *testing.B) {
	m := benchManager(b, 100_000)
	for _, bc := range []struct {
		name string
		req  ipam.Request
	}{
		{"dual-stack", ipam.Request{Key: "bench/svc", Labels: selector.Set{"tier": "t9", "app": "x"}}},
		{"single-stack", ipam.Request{Key: "bench/svc", Families: ipam.SingleStackIPv4,
			Labels: selector.Set{"tier": "t9", "app": "x"}}},
		{"specific", ipam.Request{Key: "bench/svc", Addrs: []netip.Addr{netip.MustParseAddr("10.9.200.1")},
			Labels: selector.Set{"tier": "t9", "app": "x"}}},
		{"shared", ipam.Request{Key: "bench/svc", SharingKey: "k", Ports: []ipam.Port{{Protocol: ipam.TCP, Port: 443}},
			Labels: selector.Set{"tier": "t9", "app": "x"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.req.SharingKey != "" {
				r := bc.req
				r.Key, r.Ports = "bench/holder", []ipam.Port{{Protocol: ipam.TCP, Port: 80}}
				if _, err := m.Assign(r); err != nil {
					b.Fatal(err)
				}
				defer m.Release(r.Key)
			}
			b.ReportAllocs()
			cpu := benchtest.CPU()
			for b.Loop() {
				if _, err := m.Assign(bc.req); err != nil {
					b.Fatal(err)
				}
				if err := m.Release(bc.req.Key); err != nil {
					b.Fatal(err)
				}
			}
			benchtest.ReportCPU(b, cpu, b.N)
		})
	}
}

// BenchmarkManagerAssignUnchanged measures the idempotent Assign of a
// service that already holds its addresses.
func BenchmarkManagerAssignUnchanged(b *testing.B) {
	m := benchManager(b, 100_000)
	req := ipam.Request{Key: "ns5/svc5", Labels: selector.Set{"tier": "t5", "app": "x"}}
	b.ReportAllocs()
	cpu := benchtest.CPU()
	for b.Loop() {
		if _, err := m.Assign(req); err != nil {
			b.Fatal(err)
		}
	}
	benchtest.ReportCPU(b, cpu, b.N)
}

// benchPools returns a manager with 1,000 pools of 4 ranges each (two v4,
// two v6), and a 1,000-range pool interleaved with them: half of its
// ranges overlap existing ones if overlap is set.
func benchPools(b *testing.B, overlap bool) (*ipam.Manager, ipam.Pool) {
	m := ipam.NewManager()
	for i := range 1000 {
		setPool(b, m, ipam.Pool{Name: fmt.Sprintf("pool%d", i), Ranges: rangesOf(
			fmt.Sprintf("10.%d.%d.0/25", i/256, i%256), fmt.Sprintf("11.%d.%d.0/24", i/256, i%256),
			fmt.Sprintf("2001:db8:%x::/64", i), fmt.Sprintf("2001:db9:%x::/64", i))})
	}
	big := ipam.Pool{Name: "big"}
	for i := range 500 {
		v4 := fmt.Sprintf("10.%d.%d.128/25", i/256, i%256) // next to pool i's range
		if overlap && i%2 == 0 {
			v4 = fmt.Sprintf("10.%d.%d.64/26", i/256, i%256) // inside it
		}
		big.Ranges = append(big.Ranges, ipam.MustParseRange(v4),
			ipam.MustParseRange(fmt.Sprintf("2001:db8:%x:1::/64", i)))
	}
	return m, big
}

// BenchmarkManagerSetPool measures SetPool of a new 1,000-range pool
// against 1,000 existing pools (4,000 ranges), and of an update that
// replaces all its ranges. Goal ≤ 5 ms.
func BenchmarkManagerSetPool(b *testing.B) {
	for _, overlap := range []bool{false, true} {
		b.Run(fmt.Sprintf("add/overlap=%v", overlap), func(b *testing.B) {
			m, big := benchPools(b, overlap)
			b.ReportAllocs()
			for b.Loop() {
				if err := m.SetPool(big); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := m.DeletePool(big.Name); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
	b.Run("update", func(b *testing.B) {
		m, big := benchPools(b, false)
		_, other := benchPools(b, true)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := big
			if i%2 == 1 {
				p = other
			}
			i++
			if err := m.SetPool(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("delete", func(b *testing.B) {
		m, big := benchPools(b, true)
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			if err := m.SetPool(big); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := m.DeletePool(big.Name); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkManagerRestore measures Restore of 100,000 services (20% of
// them sharing addresses, over six pools including a disabled and a
// ManualOnly one) into a new Manager, as after a controller restart. One
// op is the whole restore; ns/service is the cost per service. Goal ≤ 2 µs
// per service.
func BenchmarkManagerRestore(b *testing.B) {
	const n = 100_000
	m, pools := restoreManager(b, n)
	reqs := restoreRequests(m, n, 5)
	m = nil // a restarted controller has only the requests
	b.ReportAllocs()
	cpu := time.Duration(0)
	for b.Loop() {
		b.StopTimer()
		runtime.GC() // not the garbage of the previous round
		m2 := ipam.NewManager()
		for _, p := range pools {
			setPool(b, m2, p)
		}
		start := benchtest.CPU()
		b.StartTimer()
		for _, err := range m2.Restore(reqs) {
			if err != nil {
				b.Fatal(err)
			}
		}
		cpu += benchtest.CPU() - start
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/service")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/service")
}

// manyPools returns a manager with n pools, each a v4 /24 and a v6 /64
// selecting services labelled team=tN, all of equal priority, so a service
// of the last pool by name has every other pool tried before it; scan
// makes the Manager match every pool's selectors instead of using its index.
func manyPools(b *testing.B, n int, scan bool) *ipam.Manager {
	m := ipam.NewManager()
	if scan {
		ipam.ScanAllPools(m)
	}
	for i := range n {
		setPool(b, m, ipam.Pool{
			Name:            fmt.Sprintf("pool%04d", i),
			Ranges:          rangesOf(fmt.Sprintf("10.%d.%d.0/24", i/256, i%256), fmt.Sprintf("2001:db8:%x::/64", i)),
			ServiceSelector: selector.MustParse(fmt.Sprintf("team=t%d", i)),
		})
	}
	return m
}

// BenchmarkManagerAssignPools measures Assign plus Release of a new
// dual-stack service selected by the last of 10 or 1,000 pools, with the
// pool index ("indexed") and with every pool's selectors matched in order
// ("scan"). Goal at 1,000 pools ≤ 2 µs, and no slower at 10.
func BenchmarkManagerAssignPools(b *testing.B) {
	for _, n := range []int{10, 1000} {
		for _, scan := range []bool{false, true} {
			name := fmt.Sprintf("pools=%d/indexed", n)
			if scan {
				name = fmt.Sprintf("pools=%d/scan", n)
			}
			b.Run(name, func(b *testing.B) {
				m := manyPools(b, n, scan)
				req := ipam.Request{Key: "ns/svc",
					Labels: selector.Set{"team": fmt.Sprintf("t%d", n-1), "app": "x"}}
				b.ReportAllocs()
				cpu := benchtest.CPU()
				for b.Loop() {
					if _, err := m.Assign(req); err != nil {
						b.Fatal(err)
					}
					if err := m.Release(req.Key); err != nil {
						b.Fatal(err)
					}
				}
				benchtest.ReportCPU(b, cpu, b.N)
			})
		}
	}
}

// BenchmarkManagerPools measures Pools with 1,000 pools. Goal ≤ 200 µs.
func BenchmarkManagerPools(b *testing.B) {
	m := manyPools(b, 1000, false)
	b.ReportAllocs()
	for b.Loop() {
		if len(m.Pools()) != 1000 {
			b.Fatal("pools missing")
		}
	}
}
