package ipam

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

const live = 1_000_000

// benchFixtures caches expensive setups across the b.N rounds of a
// benchmark; every benchmark leaves its allocator as it found it.
var benchFixtures = map[string]*Allocator{}

func fixture(b *testing.B, name string, build func() *Allocator) *Allocator {
	b.Helper()
	if a, ok := benchFixtures[name]; ok {
		return a
	}
	b.StopTimer()
	a := build()
	b.StartTimer()
	benchFixtures[name] = a
	return a
}

func mustAllocator(tb testing.TB, r string, opts ...AllocatorOption) *Allocator {
	a, err := NewAllocator([]Range{MustParseRange(r)}, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// fillSequential allocates n addresses lowest-first.
func fillSequential(tb testing.TB, a *Allocator, f Family, n int) {
	for range n {
		if _, err := a.Allocate(f); err != nil {
			tb.Fatal(err)
		}
	}
}

// fillFragmented leaves n live allocations with a free hole after each: n
// free intervals, the worst case for the tree.
func fillFragmented(tb testing.TB, a *Allocator, f Family, n int) {
	addrs := make([]netip.Addr, 0, 2*n)
	for range 2 * n {
		x, err := a.Allocate(f)
		if err != nil {
			tb.Fatal(err)
		}
		addrs = append(addrs, x)
	}
	for i := 1; i < len(addrs); i += 2 {
		if err := a.Release(addrs[i]); err != nil {
			tb.Fatal(err)
		}
	}
}

func allocateRelease(b *testing.B, a *Allocator, f Family) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		x, err := a.Allocate(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Release(x); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, b.N)
}

// reportCPU reports the process CPU time since cpu per operation
// (cpu-ns/op): wall-clock ns/op inflates when other processes share the
// cores, CPU time much less so.
func reportCPU(b *testing.B, cpu time.Duration, ops int) {
	if cpu == 0 || ops == 0 {
		return
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(ops), "cpu-ns/op")
}

// BenchmarkAllocateRelease measures one Allocate plus one Release with
// 1,000,000 live allocations, lowest-first, in a v4 /8 and a v6 /64; either
// packed (one free interval) or fragmented (a free hole after every live
// address: 1,000,000 free intervals).
func BenchmarkAllocateRelease(b *testing.B) {
	for _, tc := range []struct {
		name string
		r    string
		f    Family
	}{{"IPv4-/8", "10.0.0.0/8", IPv4}, {"IPv6-/64", "2001:db8::/64", IPv6}} {
		for _, layout := range []string{"packed", "fragmented"} {
			b.Run(tc.name+"/"+layout, func(b *testing.B) {
				a := fixture(b, "lowest/"+tc.name+"/"+layout, func() *Allocator {
					a := mustAllocator(b, tc.r)
					if layout == "packed" {
						fillSequential(b, a, tc.f, live)
					} else {
						fillFragmented(b, a, tc.f, live)
					}
					return a
				})
				allocateRelease(b, a, tc.f)
			})
		}
	}
}

// BenchmarkRandomAllocateRelease measures Allocate plus Release with the
// Random strategy on a v6 /64 fragmented by 1,000,000 random live
// allocations (about as many free intervals).
func BenchmarkRandomAllocateRelease(b *testing.B) {
	a := fixture(b, "random/IPv6-/64", func() *Allocator {
		a := mustAllocator(b, "2001:db8::/64", WithStrategy(Random), WithRandSource(rand.NewPCG(1, 2)))
		fillSequential(b, a, IPv6, live) // random strategy: scattered
		return a
	})
	b.ReportMetric(float64(a.space(IPv6).free.Len()), "free-intervals")
	allocateRelease(b, a, IPv6)
}

// BenchmarkFill16 allocates every address of a /16 from empty (65,534
// allocations, network and broadcast reserved); ns/op is the whole fill.
func BenchmarkFill16(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		a := mustAllocator(b, "10.1.0.0/16", WithFirstLastReserved())
		fillSequential(b, a, IPv4, 65534)
		if _, err := a.Allocate(IPv4); err == nil {
			b.Fatal("not full")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/65534, "ns/alloc")
}

// BenchmarkMemoryPerAllocation reports the heap bytes per live allocation
// with 1,000,000 live allocations, for each layout.
func BenchmarkMemoryPerAllocation(b *testing.B) {
	for _, tc := range []struct {
		name string
		r    string
		f    Family
		opts []AllocatorOption
		fill func(testing.TB, *Allocator, Family, int)
	}{
		{"IPv4-/8-packed", "10.0.0.0/8", IPv4, nil, fillSequential},
		{"IPv4-/8-fragmented", "10.0.0.0/8", IPv4, nil, fillFragmented},
		{"IPv6-/64-fragmented", "2001:db8::/64", IPv6, nil, fillFragmented},
		{"IPv6-/64-random", "2001:db8::/64", IPv6, []AllocatorOption{WithStrategy(Random)}, fillSequential},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var perAlloc float64
			for range b.N {
				before := heapInUse()
				a := mustAllocator(b, tc.r, tc.opts...)
				tc.fill(b, a, tc.f, live)
				perAlloc = float64(heapInUse()-before) / live
				runtime.KeepAlive(a)
			}
			b.ReportMetric(perAlloc, "B/live-alloc")
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// naiveAllocator is how scanning allocators such as MetalLB's work: the
// used addresses are a map, and allocation walks the CIDR from its first
// address until it finds one not in the map.
type naiveAllocator struct {
	prefix netip.Prefix
	used   map[netip.Addr]bool
}

func (n *naiveAllocator) allocate() (netip.Addr, bool) {
	for x := n.prefix.Addr(); n.prefix.Contains(x); x = x.Next() {
		if !n.used[x] {
			n.used[x] = true
			return x, true
		}
	}
	return netip.Addr{}, false
}

func (n *naiveAllocator) release(x netip.Addr) { delete(n.used, x) }

// BenchmarkVsNaiveScan runs Allocate+Release of the naive scan in a /16
// holding 1k, 10k and 60k used addresses (ns/op is the naive cost), times
// the same operation on an Allocator in the same state (lbkit-ns/op), and
// reports the ratio (speedup-x).
func BenchmarkVsNaiveScan(b *testing.B) {
	p := netip.MustParsePrefix("10.2.0.0/16")
	for _, used := range []int{1000, 10000, 60000} {
		b.Run(fmt.Sprintf("used=%d", used), func(b *testing.B) {
			n := &naiveAllocator{prefix: p, used: map[netip.Addr]bool{}}
			a := mustAllocator(b, p.String())
			for range used {
				n.allocate()
			}
			fillSequential(b, a, IPv4, used)
			const rounds = 200_000
			start := time.Now()
			for range rounds {
				x, _ := a.Allocate(IPv4)
				_ = a.Release(x)
			}
			ours := float64(time.Since(start).Nanoseconds()) / rounds
			b.ResetTimer()
			for range b.N {
				x, _ := n.allocate()
				n.release(x)
			}
			naive := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ours, "lbkit-ns/op")
			b.ReportMetric(naive/ours, "speedup-x")
		})
	}
}
