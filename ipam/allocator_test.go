package ipam

import (
	"maps"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ranges(ss ...string) []Range {
	rs := make([]Range, len(ss))
	for i, s := range ss {
		rs[i] = MustParseRange(s)
	}
	return rs
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func bigStr(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return b
}

func TestNewAllocatorErrors(t *testing.T) {
	tests := []struct {
		name   string
		ranges []Range
		opts   []AllocatorOption
		want   error
		msg    string
	}{
		{"duplicate", ranges("10.0.0.0/24", "10.0.0.0/24"), nil, ErrOverlap, "10.0.0.0/24 and 10.0.0.0/24"},
		{"overlap", ranges("10.0.0.0/24", "10.0.0.200-10.0.1.5"), nil, ErrOverlap, "10.0.0.0/24 and 10.0.0.200-10.0.1.5"},
		{"contained", ranges("2001:db8::/64", "2001:db8::5"), nil, ErrOverlap, "2001:db8::/64 and 2001:db8::5"},
		{"overlap far apart", ranges("10.0.5.0/24", "10.1.0.0/24", "10.0.0.0/8"), nil, ErrOverlap, "10.0.0.0/8 and 10.0.5.0/24"},
		{"zero range", []Range{{}}, nil, ErrInvalidRange, "zero Range"},
		{"reserved outside", ranges("10.0.0.0/24"), []AllocatorOption{WithReserved(addr("10.0.1.1"))}, ErrOutOfRange, "10.0.1.1"},
		{"bad strategy", ranges("10.0.0.0/24"), []AllocatorOption{WithStrategy(7)}, ErrInvalidConfig, "Strategy(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAllocator(tt.ranges, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, a)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestAllocatorErrors(t *testing.T) {
	newA := func(t *testing.T) *Allocator {
		a, err := NewAllocator(ranges("10.0.0.0/30", "2001:db8::/126"), WithReserved(addr("10.0.0.3")))
		require.NoError(t, err)
		require.NoError(t, a.AllocateAddr(addr("10.0.0.1")))
		return a
	}
	tests := []struct {
		name string
		op   func(a *Allocator) error
		want []error
	}{
		{"allocate in use", func(a *Allocator) error { return a.AllocateAddr(addr("10.0.0.1")) }, []error{ErrInUse}},
		{"allocate out of range", func(a *Allocator) error { return a.AllocateAddr(addr("10.0.0.4")) }, []error{ErrOutOfRange}},
		{"allocate other family", func(a *Allocator) error { return a.AllocateAddr(addr("2001:db9::")) }, []error{ErrOutOfRange}},
		{"allocate zero addr", func(a *Allocator) error { return a.AllocateAddr(netip.Addr{}) }, []error{ErrOutOfRange}},
		{"allocate zoned", func(a *Allocator) error { return a.AllocateAddr(addr("2001:db8::1%eth0")) }, []error{ErrOutOfRange}},
		{"allocate mapped", func(a *Allocator) error { return a.AllocateAddr(addr("::ffff:10.0.0.2")) }, []error{ErrOutOfRange}},
		{"allocate reserved", func(a *Allocator) error { return a.AllocateAddr(addr("10.0.0.3")) }, []error{ErrOutOfRange}},
		{"release free", func(a *Allocator) error { return a.Release(addr("10.0.0.2")) }, []error{ErrNotAllocated}},
		{"release reserved", func(a *Allocator) error { return a.Release(addr("10.0.0.3")) }, []error{ErrNotAllocated}},
		{"release out of range", func(a *Allocator) error { return a.Release(addr("10.9.0.0")) }, []error{ErrNotAllocated, ErrOutOfRange}},
		{"allocate family missing", func(a *Allocator) error {
			b, _ := NewAllocator(ranges("10.0.0.0/30"))
			_, err := b.Allocate(IPv6)
			return err
		}, []error{ErrFamily}},
		{"allocate invalid family", func(a *Allocator) error { _, err := a.Allocate(0); return err }, []error{ErrFamily}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newA(t)
			before := snapshot(a)
			err := tt.op(a)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorIs(t, err, w)
			}
			assert.Equal(t, before, snapshot(a), "a failed call changes no state")
			checkInvariants(t, a)
		})
	}
}

// snapshot returns the observable state of a: free intervals and counts.
func snapshot(a *Allocator) []string {
	var out []string
	for _, f := range []Family{IPv4, IPv6} {
		out = append(out, f.String(), a.Free(f).String(), a.Used(f).String())
		if s := a.space(f); s != nil {
			s.free.Ascend(func(iv interval) bool {
				out = append(out, iv.lo.addr(f).String()+"-"+iv.hi.addr(f).String())
				return true
			})
		}
	}
	return out
}

func TestAllocatorExhaust(t *testing.T) {
	for _, strategy := range []Strategy{LowestFirst, Random} {
		t.Run(strategy.String(), func(t *testing.T) {
			a, err := NewAllocator(ranges("10.0.0.0/29", "10.0.0.8-10.0.0.10", "2001:db8::/126", "10.0.1.7"),
				WithStrategy(strategy), WithRandSource(rand.NewPCG(1, 1)))
			require.NoError(t, err)
			seen := map[netip.Addr]bool{}
			for range 12 {
				x, err := a.Allocate(IPv4)
				require.NoError(t, err)
				assert.False(t, seen[x], "%s twice", x)
				seen[x] = true
				assert.True(t, a.Allocated(x))
			}
			_, err = a.Allocate(IPv4)
			assert.ErrorIs(t, err, ErrExhausted)
			assert.Equal(t, "0", a.Free(IPv4).String())
			assert.Equal(t, "12", a.Used(IPv4).String())
			assert.Equal(t, "4", a.Free(IPv6).String(), "v6 untouched")
			require.NoError(t, a.Release(addr("10.0.0.9")))
			x, err := a.Allocate(IPv4)
			require.NoError(t, err)
			assert.Equal(t, addr("10.0.0.9"), x, "the only free address")
			checkInvariants(t, a)
		})
	}
}

func TestAllocatorLowestFirst(t *testing.T) {
	a, err := NewAllocator(ranges("10.0.0.10-10.0.0.12", "10.0.0.0/30", "2001:db8::/64"))
	require.NoError(t, err)
	var got []string
	for range 7 {
		x, err := a.Allocate(IPv4)
		require.NoError(t, err)
		got = append(got, x.String())
	}
	assert.Equal(t, []string{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.10", "10.0.0.11", "10.0.0.12"}, got)
	require.NoError(t, a.Release(addr("10.0.0.2")))
	require.NoError(t, a.Release(addr("10.0.0.11")))
	x, _ := a.Allocate(IPv4)
	assert.Equal(t, addr("10.0.0.2"), x)
	x, _ = a.Allocate(IPv6)
	assert.Equal(t, addr("2001:db8::"), x)
	assert.Equal(t, []Range{MustParseRange("10.0.0.0/30"), MustParseRange("10.0.0.10-10.0.0.12"),
		MustParseRange("2001:db8::/64")}, a.ranges)
}

func TestAllocatorEdges(t *testing.T) {
	tests := []struct {
		rng       string
		first     string
		last      string
		size      string
		fam       Family
		firstLast bool
	}{
		{"0.0.0.0-0.0.0.2", "0.0.0.0", "0.0.0.2", "3", IPv4, false},
		{"255.255.255.253-255.255.255.255", "255.255.255.253", "255.255.255.255", "3", IPv4, false},
		{"0.0.0.0/0", "0.0.0.0", "255.255.255.255", "4294967296", IPv4, false},
		{"0.0.0.0/0", "0.0.0.1", "255.255.255.254", "4294967294", IPv4, true},
		{"::-::2", "::", "::2", "3", IPv6, false},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
			"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3", IPv6, false},
		// 2^128 minus the 2^32 IPv4-mapped addresses (minus first and last)
		{"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "340282366920938463463374607427473244160", IPv6, false},
		{"::/0", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "340282366920938463463374607427473244158", IPv6, true},
		{"10.0.0.9", "10.0.0.9", "10.0.0.9", "1", IPv4, true},
		{"10.0.0.8/31", "10.0.0.8", "10.0.0.9", "2", IPv4, true},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			var opts []AllocatorOption
			if tt.firstLast {
				opts = append(opts, WithFirstLastReserved())
			}
			for _, strategy := range []Strategy{LowestFirst, Random} {
				a, err := NewAllocator(ranges(tt.rng), append(opts, WithStrategy(strategy), WithRandSource(rand.NewPCG(3, 4)))...)
				require.NoError(t, err)
				assert.Equal(t, tt.size, a.Free(tt.fam).String())
				assert.Equal(t, tt.size, a.capacity(tt.fam).String())
				assert.True(t, a.hasFamily(tt.fam))
				first, last := addr(tt.first), addr(tt.last)
				require.NoError(t, a.AllocateAddr(last))
				if first != last {
					require.NoError(t, a.AllocateAddr(first))
				}
				x, err := a.Allocate(tt.fam)
				if tt.size == "2" || tt.size == "1" {
					assert.ErrorIs(t, err, ErrExhausted)
				} else {
					require.NoError(t, err)
					assert.True(t, first.Less(x) && x.Less(last), "%s inside", x)
					require.NoError(t, a.Release(x))
				}
				want := new(big.Int).Sub(bigStr(tt.size), big.NewInt(2))
				if first == last {
					want = big.NewInt(0)
				}
				assert.Equal(t, want.String(), a.Free(tt.fam).String())
				require.NoError(t, a.Release(last))
				if first != last {
					require.NoError(t, a.Release(first))
				}
				assert.Equal(t, tt.size, a.Free(tt.fam).String())
				assert.Equal(t, "0", a.Used(tt.fam).String())
				checkInvariants(t, a)
			}
		})
	}
}

func TestAllocatorReserved(t *testing.T) {
	a, err := NewAllocator(ranges("10.0.0.0/29", "10.0.1.0-10.0.1.255", "2001:db8::/126", "10.0.2.0/31"),
		WithFirstLastReserved(), WithReserved(addr("10.0.1.7"), addr("10.0.1.7")))
	require.NoError(t, err)
	for _, s := range []string{"10.0.0.0", "10.0.0.7", "10.0.1.7", "2001:db8::", "2001:db8::3"} {
		assert.True(t, a.reservedAddr(addr(s)), s)
		assert.True(t, a.contains(addr(s)), s)
		assert.False(t, a.Allocated(addr(s)), s)
		assert.ErrorIs(t, a.AllocateAddr(addr(s)), ErrOutOfRange, s)
	}
	// 10.0.1.0-10.0.1.255 spans exactly 10.0.1.0/24 but is written start–stop:
	// it is used whole.
	assert.False(t, a.reservedAddr(addr("10.0.1.0")))
	assert.False(t, a.reservedAddr(addr("10.0.1.255")))
	assert.False(t, a.reservedAddr(addr("10.0.2.0")), "/31 is used whole")
	assert.Equal(t, "6", a.Free(IPv4).Sub(a.Free(IPv4), big.NewInt(256-1+2)).String())
	assert.Equal(t, "2", a.Free(IPv6).String())
	x, _ := a.Allocate(IPv4)
	assert.Equal(t, addr("10.0.0.1"), x)
	assert.False(t, a.contains(addr("10.0.3.0")))
	assert.False(t, a.reservedAddr(addr("10.0.3.0")))
}

func TestAllocatorAdjacentRanges(t *testing.T) {
	a, err := NewAllocator(ranges("10.0.0.0/25", "10.0.0.128/25"))
	require.NoError(t, err)
	assert.Equal(t, 1, a.space(IPv4).free.Len(), "adjacent ranges form one free interval")
	require.NoError(t, a.AllocateAddr(addr("10.0.0.127")))
	require.NoError(t, a.AllocateAddr(addr("10.0.0.128")))
	require.NoError(t, a.Release(addr("10.0.0.127")))
	require.NoError(t, a.Release(addr("10.0.0.128")))
	assert.Equal(t, 1, a.space(IPv4).free.Len())
	checkInvariants(t, a)
	assert.False(t, a.hasFamily(IPv6))
	assert.Equal(t, "0", a.Free(IPv6).String())
	assert.Equal(t, "0", a.Used(IPv6).String())
	assert.Equal(t, "0", a.capacity(IPv6).String())
}

func TestAllocatorEmpty(t *testing.T) {
	a, err := NewAllocator(nil)
	require.NoError(t, err)
	_, err = a.Allocate(IPv4)
	assert.ErrorIs(t, err, ErrFamily)
	assert.False(t, a.contains(addr("10.0.0.1")))
	assert.Empty(t, a.ranges)
}

func TestAllocatorAllocs(t *testing.T) {
	for _, strategy := range []Strategy{LowestFirst, Random} {
		for _, r := range []string{"10.0.0.0/16", "2001:db8::/64"} {
			t.Run(strategy.String()+"/"+r, func(t *testing.T) {
				a, err := NewAllocator(ranges(r), WithStrategy(strategy), WithRandSource(rand.NewPCG(5, 6)))
				require.NoError(t, err)
				f := MustParseRange(r).Family()
				for range 1000 { // fragment
					x, _ := a.Allocate(f)
					if x.As16()[15]%2 == 0 {
						require.NoError(t, a.Release(x))
					}
				}
				allocs := testing.AllocsPerRun(1000, func() {
					x, err := a.Allocate(f)
					if err != nil {
						panic(err)
					}
					_ = a.Allocated(x)
					if err := a.Release(x); err != nil {
						panic(err)
					}
				})
				assert.LessOrEqual(t, allocs, 1.0)
			})
		}
	}
}

// TestCrowdedBlocks churns a /18 (four 4,096-address blocks) with the
// default bitmaps: scattered releases turn blocks into bitmaps, lowest-first
// allocation takes the released addresses back in order, and releasing
// everything leaves one free interval again.
func TestCrowdedBlocks(t *testing.T) {
	for _, r := range []string{"10.64.0.0/18", "2001:db8::4000/114"} {
		a := mustAllocator(t, r)
		f := FamilyOf(MustParseRange(r).From())
		var all []netip.Addr
		for range 1 << 14 {
			x, err := a.Allocate(f)
			require.NoError(t, err)
			all = append(all, x)
		}
		rnd := rand.New(rand.NewPCG(1, 2))
		released := map[netip.Addr]bool{}
		for range 3000 {
			x := all[rnd.IntN(len(all))]
			if !released[x] {
				require.NoError(t, a.Release(x))
				released[x] = true
			}
		}
		checkInvariants(t, a)
		s := a.space(f)
		require.Equal(t, 4, s.bm.order.Len(), "every block crowded")
		require.Equal(t, 0, s.free.Len(), "no free interval left")
		want := slices.SortedFunc(maps.Keys(released), netip.Addr.Compare)
		for i, w := range want {
			x, err := a.Allocate(f)
			require.NoError(t, err)
			require.Equal(t, w, x, "allocation %d", i)
			if i%500 == 0 {
				checkInvariants(t, a)
			}
		}
		assert.Equal(t, 0, s.bm.order.Len(), "full blocks drop their bitmaps")
		_, err := a.Allocate(f)
		require.ErrorIs(t, err, ErrExhausted)
		for _, i := range rnd.Perm(len(all)) {
			require.NoError(t, a.Release(all[i]))
		}
		checkInvariants(t, a)
		assert.Equal(t, 0, s.bm.order.Len(), "wholly free blocks turn back into intervals")
		assert.Equal(t, 1, s.free.Len())
		assert.Equal(t, "16384", a.Free(f).String())
	}
}
