package ipam

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkInvariants checks the allocator's internal state: free intervals
// sorted, disjoint, non-adjacent, inside the ranges, free of reserved
// addresses, their sizes summing to Free, and the random strategy's weights
// agreeing with the intervals.
func checkInvariants(t testing.TB, a *Allocator) {
	t.Helper()
	for _, s := range a.fams {
		if s == nil {
			continue
		}
		sum := new(big.Int)
		var prev *interval
		slots := map[int32]bool{}
		if s.w != nil {
			require.Equal(t, s.free.Len(), len(s.w.slotOf), "one slot per free interval")
		}
		s.free.Ascend(func(iv interval) bool {
			if iv.hi.less(iv.lo) {
				t.Fatalf("%v: interval %v reversed", s.family, iv)
			}
			if prev != nil && (!prev.hi.less(iv.lo) || prev.hi.addOne() == iv.lo) {
				t.Fatalf("%v: intervals %v and %v overlap or touch", s.family, *prev, iv)
			}
			i, _ := slices.BinarySearchFunc(s.ranges, iv.lo, func(r interval, v uint128) int { return cmpU128(r.hi, v) })
			if i == len(s.ranges) || iv.lo.less(s.ranges[i].lo) || s.ranges[i].hi.less(iv.hi) {
				t.Fatalf("%v: interval %v not inside one range", s.family, iv)
			}
			for _, r := range s.reserved {
				if !r.less(iv.lo) && !iv.hi.less(r) {
					t.Fatalf("%v: reserved %v is free", s.family, r)
				}
			}
			size := iv.hi.sub(iv.lo).addOne()
			sum.Add(sum, spanSize(iv.lo, iv.hi))
			if s.w != nil {
				slot, ok := s.w.slotOf[iv.hi]
				got := s.w.prefix(int(slot)).sub(s.w.prefix(int(slot) - 1))
				if !ok || got != size || s.w.spans[slot] != iv || slots[slot] {
					t.Fatalf("%v: slot %d of %v: weight %v span %v", s.family, slot, iv, got, s.w.spans[slot])
				}
				slots[slot] = true
			}
			prev = &iv
			return true
		})
		checkBlocks(t, s, sum)
		free := s.capacity.sub(s.used).big()
		if sum.Cmp(free) != 0 {
			t.Fatalf("%v: free intervals hold %v addresses, Free says %v", s.family, sum, free)
		}
		if s.w != nil {
			require.Equal(t, len(s.w.tree)-1, len(slots)+len(s.w.spare), "every slot live or spare")
			mod := new(big.Int).Lsh(big.NewInt(1), 128)
			assert.Equal(t, new(big.Int).Mod(sum, mod).String(), s.w.total().big().String(), "weights total")
		}
	}
}

// checkBlocks checks the bitmaps of s and adds their free addresses to sum:
// each bitmap indexed once, aligned, holding free addresses only in the
// ranges and not reserved, neither empty nor wholly free, overlapped by no
// free interval.
func checkBlocks(t testing.TB, s *space, sum *big.Int) {
	t.Helper()
	if s.bm == nil || s.bm.order == nil {
		return
	}
	require.Equal(t, len(s.bm.byStart), s.bm.order.Len(), "%v: bitmaps indexed twice", s.family)
	first, _ := s.bm.order.Min()
	require.Same(t, first, s.bm.first, "%v: lowest bitmap", s.family)
	s.bm.order.Ascend(func(b *block) bool {
		lo, hi := s.bm.bounds(b.start)
		require.Equal(t, lo, b.start, "%v: block not aligned", s.family)
		require.Same(t, b, s.bm.byStart[lo], "%v: block %v not in the map", s.family, lo)
		require.Equal(t, s.allocatable(lo, hi), b.cap, "%v: block %v capacity", s.family, lo)
		n := 0
		for off := range uint64(len(b.bits) * 64) {
			if b.bits[off/64]&(1<<(off%64)) == 0 {
				continue
			}
			n++
			v := uint128{lo.hi, lo.lo + off}
			if hi.less(v) {
				t.Fatalf("%v: block %v: bit %d beyond the block", s.family, lo, off)
			}
			if i, _ := slices.BinarySearchFunc(s.ranges, v, func(r interval, v uint128) int { return cmpU128(r.hi, v) }); i == len(s.ranges) || v.less(s.ranges[i].lo) || s.isReserved(v) {
				t.Fatalf("%v: block %v: %v free but out of range or reserved", s.family, lo, v)
			}
		}
		require.Equal(t, n, b.free, "%v: block %v free count", s.family, lo)
		require.True(t, 0 < n && n < b.cap, "%v: block %v holds %d of %d free", s.family, lo, n, b.cap)
		s.free.AscendGreaterOrEqual(interval{hi: lo}, func(x interval) bool {
			if !hi.less(x.lo) {
				t.Fatalf("%v: free interval %v overlaps bitmap %v", s.family, x, lo)
			}
			return false
		})
		sum.Add(sum, big.NewInt(int64(n)))
		return true
	})
}

// model is a trivially correct allocator over a small universe.
type model struct {
	inRange, reserved, used map[netip.Addr]bool
	universe                []netip.Addr // sorted; includes addresses outside the ranges
}

func newModel(rs []Range, reserved []netip.Addr, outside ...netip.Addr) *model {
	m := &model{inRange: map[netip.Addr]bool{}, reserved: map[netip.Addr]bool{}, used: map[netip.Addr]bool{}}
	for _, r := range rs {
		for x := r.From(); r.Contains(x); x = x.Next() {
			m.inRange[x] = true
			m.universe = append(m.universe, x)
		}
	}
	for _, x := range reserved {
		m.reserved[x] = true
	}
	m.universe = append(m.universe, outside...)
	slices.SortFunc(m.universe, netip.Addr.Compare)
	return m
}

func (m *model) free(x netip.Addr) bool { return m.inRange[x] && !m.reserved[x] && !m.used[x] }

func (m *model) lowestFree(f Family) (netip.Addr, bool) {
	for _, x := range m.universe {
		if FamilyOf(x) == f && m.free(x) {
			return x, true
		}
	}
	return netip.Addr{}, false
}

func (m *model) hasFamily(f Family) bool {
	for x := range m.inRange {
		if FamilyOf(x) == f {
			return true
		}
	}
	return false
}

func (m *model) count(f Family, pred func(netip.Addr) bool) int64 {
	var n int64
	for x := range m.inRange {
		if FamilyOf(x) == f && pred(x) {
			n++
		}
	}
	return n
}

// harness drives an Allocator and a model with the same operations and
// reports the first disagreement.
type harness struct {
	a        *Allocator
	m        *model
	strategy Strategy
	usedList []netip.Addr
}

// step applies operation op with argument arg to both and compares.
func (h *harness) step(op, arg byte) error {
	m := h.m
	fam := IPv4
	if arg&1 == 1 {
		fam = IPv6
	}
	x := m.universe[int(arg)%len(m.universe)]
	switch op % 4 {
	case 0:
		return h.allocate(fam)
	case 1:
		err := h.a.AllocateAddr(x)
		return h.compare("AllocateAddr", x, err, h.wantAllocateAddr(x))
	case 2:
		if len(h.usedList) > 0 {
			x = h.usedList[int(arg)%len(h.usedList)]
		}
		fallthrough
	default:
		err := h.a.Release(x)
		return h.compare("Release", x, err, h.wantRelease(x))
	}
}

func (h *harness) allocate(f Family) error {
	want, ok := h.m.lowestFree(f)
	got, err := h.a.Allocate(f)
	switch {
	case !h.m.hasFamily(f):
		return h.compare("Allocate", want, err, []error{ErrFamily})
	case !ok:
		return h.compare("Allocate", want, err, []error{ErrExhausted})
	case err != nil:
		return fmt.Errorf("Allocate(%v): %v, want an address", f, err)
	case !h.m.free(got) || FamilyOf(got) != f:
		return fmt.Errorf("Allocate(%v) = %v, which is not free", f, got)
	case h.strategy == LowestFirst && got != want:
		return fmt.Errorf("Allocate(%v) = %v, want lowest %v", f, got, want)
	}
	h.use(got)
	return nil
}

func (h *harness) use(x netip.Addr) {
	h.m.used[x] = true
	h.usedList = append(h.usedList, x)
}

func (h *harness) wantAllocateAddr(x netip.Addr) []error {
	switch {
	case !h.m.inRange[x] || h.m.reserved[x]:
		return []error{ErrOutOfRange}
	case h.m.used[x]:
		return []error{ErrInUse}
	}
	h.use(x)
	return nil
}

func (h *harness) wantRelease(x netip.Addr) []error {
	switch {
	case !h.m.inRange[x]:
		return []error{ErrNotAllocated, ErrOutOfRange}
	case !h.m.used[x]:
		return []error{ErrNotAllocated}
	}
	delete(h.m.used, x)
	h.usedList = slices.DeleteFunc(h.usedList, func(y netip.Addr) bool { return y == x })
	return nil
}

func (h *harness) compare(op string, x netip.Addr, err error, want []error) error {
	if (err == nil) != (len(want) == 0) {
		return fmt.Errorf("%s(%v) = %v, want %v", op, x, err, want)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			return fmt.Errorf("%s(%v) = %v, want %v", op, x, err, w)
		}
	}
	return nil
}

// checkCounts compares Allocated, Free and Used with the model.
func (h *harness) checkCounts() error {
	for _, x := range h.m.universe {
		if h.a.Allocated(x) != h.m.used[x] {
			return fmt.Errorf("Allocated(%v) = %v, model %v", x, !h.m.used[x], h.m.used[x])
		}
	}
	for _, f := range []Family{IPv4, IPv6} {
		used := h.m.count(f, func(x netip.Addr) bool { return h.m.used[x] })
		free := h.m.count(f, h.m.free)
		if h.a.Used(f).Int64() != used || h.a.Free(f).Int64() != free {
			return fmt.Errorf("%v: Used %v Free %v, model %d %d", f, h.a.Used(f), h.a.Free(f), used, free)
		}
	}
	return nil
}

// modelConfigs are the pools the model tests and the fuzz target run on.
var modelConfigs = []struct {
	ranges    []string
	firstLast bool
}{
	{[]string{"10.0.0.0/28", "10.0.0.16-10.0.0.20", "10.0.1.0-10.0.1.3", "2001:db8::/124", "2001:db8::100-2001:db8::102"}, false},
	{[]string{"10.0.0.0/28", "10.0.0.32/29", "2001:db8::/125", "2001:db8::8/126"}, true},
	{[]string{"0.0.0.0-0.0.0.5", "255.255.255.250-255.255.255.255", "::/126", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124"}, false},
	{[]string{"10.0.0.7", "10.0.0.9"}, false},
}

// A mode is an allocator variant the model tests and the fuzz target run.
type mode struct {
	name     string
	strategy Strategy
	opts     []AllocatorOption
}

var modes = []mode{
	{"lowest-first", LowestFirst, nil},
	{"random", Random, nil},
	// Blocks of 8 addresses, a bitmap from 2 free intervals: the bitmap
	// paths run on the model's small pools.
	{"lowest-first-tiny-blocks", LowestFirst, []AllocatorOption{withBlocks(3, 2)}},
	{"lowest-first-tree-only", LowestFirst, []AllocatorOption{withBlocks(-1, 0)}},
}

// withBlocks sets the bitmap block size to 1<<shift addresses (negative:
// no bitmaps) and the free intervals that make a block crowded.
func withBlocks(shift, convertAt int) AllocatorOption {
	return allocOption(func(c *allocConfig) { c.blockShift, c.convertAt = shift, convertAt })
}

// newHarness builds config c in mode md with random seed.
func newHarness(t testing.TB, c int, md mode, seed uint64) *harness {
	cfg := modelConfigs[c%len(modelConfigs)]
	rs := ranges(cfg.ranges...)
	s := md.strategy
	opts := append([]AllocatorOption{WithStrategy(s), WithRandSource(rand.NewPCG(seed, seed))}, md.opts...)
	var reserved []netip.Addr
	if cfg.firstLast {
		opts = append(opts, WithFirstLastReserved())
		for _, r := range rs {
			if _, ok := r.Prefix(); ok && r.Size().Int64() > 2 {
				reserved = append(reserved, r.From(), r.To())
			}
		}
	}
	a, err := NewAllocator(rs, opts...)
	require.NoError(t, err)
	outside := []netip.Addr{addr("10.0.0.21"), addr("10.0.0.255"), addr("2001:db8::103"), addr("2001:db9::"),
		addr("1.1.1.1"), addr("fe80::1")}
	return &harness{a: a, m: newModel(rs, reserved, outside...), strategy: s}
}

func TestReferenceModel(t *testing.T) {
	for c := range modelConfigs {
		for _, md := range modes {
			t.Run(fmt.Sprintf("config%d/%v", c, md.name), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(c), 42))
				h := newHarness(t, c, md, uint64(c))
				for i := range 3000 {
					// Bias towards allocation so pools fill up, then drain.
					op := byte(r.IntN(5))
					if i%1000 > 600 && op == 0 {
						op = 2
					}
					require.NoError(t, h.step(op, byte(r.Uint32())), "step %d", i)
					checkInvariants(t, h.a)
					require.NoError(t, h.checkCounts(), "step %d", i)
				}
			})
		}
	}
}

// chiSquareCritical returns the chi-square value exceeded with probability
// 0.001 for df degrees of freedom (Wilson–Hilferty approximation).
func chiSquareCritical(df int) float64 {
	d := float64(df)
	const z = 3.09
	return d * math.Pow(1-2/(9*d)+z*math.Sqrt(2/(9*d)), 3)
}

func chiSquare(counts map[string]int, expected map[string]float64) float64 {
	var x float64
	for k, e := range expected {
		d := float64(counts[k]) - e
		x += d * d / e
	}
	return x
}

// TestRandomUniform checks that Random picks every free address of a
// fragmented pool equally often.
func TestRandomUniform(t *testing.T) {
	a, err := NewAllocator(ranges("10.0.0.0/27", "10.0.1.0-10.0.1.4", "10.0.2.9"),
		WithStrategy(Random), WithRandSource(rand.NewPCG(2026, 11)))
	require.NoError(t, err)
	for _, s := range []string{"10.0.0.0", "10.0.0.3", "10.0.0.4", "10.0.0.10", "10.0.0.20", "10.0.0.21", "10.0.1.2"} {
		require.NoError(t, a.AllocateAddr(addr(s)))
	}
	expected := map[string]float64{}
	const draws = 100000
	free := a.Free(IPv4).Int64()
	for _, r := range slices.Clone(a.ranges) {
		for x := r.From(); r.Contains(x); x = x.Next() {
			if !a.Allocated(x) {
				expected[x.String()] = draws / float64(free)
			}
		}
	}
	require.Len(t, expected, int(free))
	counts := map[string]int{}
	for range draws {
		x, err := a.Allocate(IPv4)
		require.NoError(t, err)
		counts[x.String()]++
		require.NoError(t, a.Release(x))
	}
	assert.Len(t, counts, len(expected), "every free address drawn, nothing else")
	x2 := chiSquare(counts, expected)
	assert.Less(t, x2, chiSquareCritical(len(expected)-1), "chi-square %.1f over %d addresses", x2, len(expected))
	checkInvariants(t, a)
}

// TestRandomUniformWide checks uniformity across 128-bit sized weights: a
// /64 and a /65 (total 1.5 * 2^64), bucketed by range and top offset bits.
func TestRandomUniformWide(t *testing.T) {
	a, err := NewAllocator(ranges("2001:db8::/64", "2001:db8:1::/65", "10.0.0.0/8"),
		WithStrategy(Random), WithRandSource(rand.NewPCG(7, 8)))
	require.NoError(t, err)
	const draws = 30000
	expected := map[string]float64{}
	for b := range 8 {
		expected[fmt.Sprintf("64/%d", b)] = draws * 2.0 / 3 / 8
		expected[fmt.Sprintf("65/%d", b)] = draws * 1.0 / 3 / 8
	}
	counts := map[string]int{}
	for range draws {
		x, err := a.Allocate(IPv6)
		require.NoError(t, err)
		b := x.As16()
		if b[5] == 0 { // 2001:db8:0::/64: top 3 bits of the interface id
			counts[fmt.Sprintf("64/%d", b[8]>>5)]++
		} else { // 2001:db8:1::/65: the 3 bits after the first
			counts[fmt.Sprintf("65/%d", (b[8]>>4)&7)]++
		}
	}
	x2 := chiSquare(counts, expected)
	assert.Less(t, x2, chiSquareCritical(len(expected)-1), "chi-square %.1f, counts %v", x2, counts)
	assert.Equal(t, fmt.Sprint(draws), a.Used(IPv6).String())
	checkInvariants(t, a)
}

func TestRandomWholeSpace(t *testing.T) {
	a, err := NewAllocator(ranges("::/0"), WithStrategy(Random), WithRandSource(rand.NewPCG(9, 9)))
	require.NoError(t, err)
	two128 := new(big.Int).Lsh(big.NewInt(1), 128) // minus the IPv4-mapped block
	two128.Sub(two128, new(big.Int).Lsh(big.NewInt(1), 32))
	assert.Equal(t, two128.String(), a.Free(IPv6).String())
	seen := map[netip.Addr]bool{}
	var highHalf int
	for range 200 {
		x, err := a.Allocate(IPv6)
		require.NoError(t, err)
		require.False(t, seen[x])
		seen[x] = true
		if x.As16()[0] >= 0x80 {
			highHalf++
		}
		checkInvariants(t, a)
	}
	assert.InDelta(t, 100, highHalf, 40, "spread over the whole space")
	assert.Equal(t, new(big.Int).Sub(two128, big.NewInt(200)).String(), a.Free(IPv6).String())
	for x := range seen {
		require.NoError(t, a.Release(x))
	}
	assert.Equal(t, two128.String(), a.Free(IPv6).String())
	assert.Equal(t, 2, a.space(IPv6).free.Len(), "below and above the IPv4-mapped block")
	checkInvariants(t, a)
}

func TestRandomReproducible(t *testing.T) {
	run := func(seed uint64) []netip.Addr {
		a, err := NewAllocator(ranges("2001:db8::/64", "10.0.0.0/16"), WithStrategy(Random), WithRandSource(rand.NewPCG(seed, 1)))
		require.NoError(t, err)
		var out []netip.Addr
		for i := range 100 {
			x, err := a.Allocate(Family(4 + 2*(i%2)))
			require.NoError(t, err)
			out = append(out, x)
			if i%3 == 0 {
				require.NoError(t, a.Release(out[i/2]))
			}
		}
		return out
	}
	assert.Equal(t, run(1), run(1), "same source, same sequence")
	assert.NotEqual(t, run(1), run(2), "different source, different sequence")

	a, err := NewAllocator(ranges("10.0.0.0/16"), WithStrategy(Random)) // default source
	require.NoError(t, err)
	_, err = a.Allocate(IPv4)
	require.NoError(t, err)
	assert.Equal(t, Random, a.Strategy())
}
