package ipam

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/lbkit/lbkit/internal/benchtest"
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

// fillChurned leaves n live allocations after allocating n+n/10
// lowest-first and releasing n/10 of them at random: about n/10 free
// fragments, the starting point of BenchmarkChurn.
func fillChurned(tb testing.TB, a *Allocator, f Family, n int) {
	addrs := make([]netip.Addr, 0, n+n/10)
	for range cap(addrs) {
		x, err := a.Allocate(f)
		if err != nil {
			tb.Fatal(err)
		}
		addrs = append(addrs, x)
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	rnd.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	for _, x := range addrs[n:] {
		if err := a.Release(x); err != nil {
			tb.Fatal(err)
		}
	}
}

func allocateRelease(b *testing.B, a *Allocator, f Family) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchtest.CPU()
	for range b.N {
		x, err := a.Allocate(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Release(x); err != nil {
			b.Fatal(err)
		}
	}
	benchtest.ReportCPU(b, cpu, b.N)
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

// BenchmarkChurn measures pairs of (release a random live address, allocate
// lowest-first) with 1,000,000 live allocations: filled lowest-first in a
// v4 /8 and a v6 /64, then 10% released at random (about 100,000 free
// fragments). "bitmaps" is the Allocator, "tree-only" the same without
// bitmaps of crowded blocks. The random pick is precomputed.
func BenchmarkChurn(b *testing.B) {
	for _, tc := range []struct {
		name string
		r    string
		f    Family
	}{{"IPv4-/8", "10.0.0.0/8", IPv4}, {"IPv6-/64", "2001:db8::/64", IPv6}} {
		for _, impl := range []struct {
			name string
			opts []AllocatorOption
		}{{"bitmaps", nil}, {"tree-only", []AllocatorOption{withBlocks(-1, 0)}}} {
			b.Run(tc.name+"/"+impl.name, func(b *testing.B) {
				c := churnFixture(b, tc.name+"/"+impl.name, tc.r, tc.f, impl.opts)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := benchtest.CPU()
				for i := range b.N {
					k := c.picks[i%len(c.picks)]
					if err := c.a.Release(c.addr(c.live[k])); err != nil {
						b.Fatal(err)
					}
					x, err := c.a.Allocate(tc.f)
					if err != nil {
						b.Fatal(err)
					}
					c.live[k] = c.offset(x)
				}
				benchtest.ReportCPU(b, cpu, b.N)
			})
		}
	}
}

// churnState is an allocator with live addresses and precomputed picks.
type churnState struct {
	a     *Allocator
	base  uint128  // first address of the range
	f     Family   // its family
	live  []uint32 // the live addresses, as offsets from base (4 MB, not 24)
	picks []int32  // random indexes into live
}

func (c *churnState) addr(off uint32) netip.Addr {
	return c.base.add(uint128{0, uint64(off)}).addr(c.f)
}
func (c *churnState) offset(x netip.Addr) uint32 { return uint32(u128From(x).sub(c.base).lo) }

var churnFixtures = map[string]*churnState{}

// churnFixture builds, once per name, an allocator over r with 1,000,000
// live addresses of family f allocated lowest-first after 10% of 1,100,000
// were released at random.
func churnFixture(b *testing.B, name, r string, f Family, opts []AllocatorOption) *churnState {
	if c, ok := churnFixtures[name]; ok {
		return c
	}
	a := mustAllocator(b, r, opts...)
	fillChurned(b, a, f, live)
	c := &churnState{a: a, base: u128From(MustParseRange(r).From()), f: f, picks: make([]int32, 1<<20)}
	for off := range uint32(live + live/10) {
		if x := c.addr(off); a.Allocated(x) {
			c.live = append(c.live, off)
		}
	}
	rnd := rand.New(rand.NewPCG(5, 6))
	for i := range c.picks {
		c.picks[i] = int32(rnd.IntN(live))
	}
	churnFixtures[name] = c
	return c
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
		{"IPv4-/8-churned", "10.0.0.0/8", IPv4, nil, fillChurned},
		{"IPv6-/64-churned", "2001:db8::/64", IPv6, nil, fillChurned},
		{"IPv4-/8-churned-tree-only", "10.0.0.0/8", IPv4, []AllocatorOption{withBlocks(-1, 0)}, fillChurned},
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
