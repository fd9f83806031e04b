package ipam

import (
	"cmp"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/google/btree"
)

// A Strategy chooses which free address Allocate returns.
type Strategy uint8

const (
	// LowestFirst returns the lowest free address of the family. It is
	// deterministic and the default.
	LowestFirst Strategy = iota
	// Random returns a free address of the family chosen uniformly at random
	// among all free addresses, so neighbours are not guessable and released
	// addresses are not reused at once. Useful for large IPv6 ranges.
	Random
)

// String returns "lowest-first" or "random".
func (s Strategy) String() string {
	switch s {
	case LowestFirst:
		return "lowest-first"
	case Random:
		return "random"
	}
	return fmt.Sprintf("Strategy(%d)", uint8(s))
}

// An AllocatorOption configures NewAllocator.
type AllocatorOption interface{ applyAllocator(*allocConfig) }

// An Option configures both NewAllocator and NewManager.
type Option interface {
	AllocatorOption
	ManagerOption
}

type allocOption func(*allocConfig)

func (o allocOption) applyAllocator(c *allocConfig) { o(c) }

type allocConfig struct {
	strategy  Strategy
	src       rand.Source
	reserved  []netip.Addr
	firstLast bool

	// Bitmaps of crowded blocks (see bitmap.go): blockShift is the log2 of
	// the block size (0 means blockShiftMax, negative means no bitmaps),
	// convertAt the free intervals that make a block crowded (0 means
	// blockConvertAt). Tests set them; Random never uses bitmaps.
	blockShift, convertAt int
}

// WithStrategy sets the allocation strategy (default LowestFirst).
func WithStrategy(s Strategy) AllocatorOption {
	return allocOption(func(c *allocConfig) { c.strategy = s })
}

// WithRandSource sets the source of randomness of the Random strategy (of
// the Allocator, or of every Manager pool using it), for reproducible
// tests. Without it, Random uses the math/rand/v2 global source.
func WithRandSource(src rand.Source) Option { return randOption{src} }

type randOption struct{ src rand.Source }

func (o randOption) applyAllocator(c *allocConfig) { c.src = o.src }
func (o randOption) applyManager(m *Manager)       { m.src = o.src }

// WithReserved excludes addrs, which must lie in the allocator's ranges,
// from allocation. Reserved addresses are neither free nor used: they are
// not counted by Free or Used, Allocated reports false for them, and
// AllocateAddr refuses them with ErrOutOfRange.
func WithReserved(addrs ...netip.Addr) AllocatorOption {
	return allocOption(func(c *allocConfig) { c.reserved = append(c.reserved, addrs...) })
}

// WithFirstLastReserved reserves, as WithReserved does, the first and last
// address of every range written as a CIDR prefix of more than two
// addresses (the network and broadcast-like addresses). Ranges written
// start–stop are used whole.
func WithFirstLastReserved() AllocatorOption {
	return allocOption(func(c *allocConfig) { c.firstLast = true })
}

// An Allocator hands out single addresses from a fixed set of disjoint
// ranges of either or both families.
//
// Free space is kept per family as disjoint, non-adjacent free intervals in
// a github.com/google/btree BTreeG keyed by their last address, so taking the
// lowest address of an interval rewrites it in place. Aligned blocks of
// 4,096 addresses crowded with free intervals are kept as bitmaps of their
// free addresses instead (512 bytes each; see bitmap.go), so churn among
// many live addresses costs a bit flip rather than a walk down the tree;
// with the Random strategy, free space is intervals only. Every operation
// is O(log n) in the number of free intervals and bitmaps (n is at most the
// number of allocated and reserved addresses plus the number of ranges),
// for both families and any range size; Random allocation is O(log m), m
// being the most free intervals held at once (weights.go). Allocated
// addresses are not stored at all: an address is allocated when it lies in
// a range, is not reserved and is not free. A free interval costs about 70
// bytes (its btree item and share of a node), about 155 with Random; a
// range allocated lowest-first stays about one interval.
//
// An Allocator is not safe for concurrent use; callers must serialise access
// (the Manager does).
type Allocator struct {
	fams     [2]*space // by familyIndex; nil for a family without ranges
	ranges   []Range   // sorted by family, then address
	strategy Strategy
	rnd      *rand.Rand
}

// interval is a free interval [lo, hi]. It is kept at 32 bytes: a larger
// item makes every btree comparison markedly slower.
type interval struct {
	lo, hi uint128
}

func intervalLess(a, b interval) bool { return a.hi.less(b.hi) }

// space is the allocation state of one family.
type space struct {
	family   Family
	ranges   []interval // configured ranges, merged where adjacent, sorted
	reserved []uint128  // sorted
	capacity uint128    // addresses in ranges minus reserved ones (the IPv4-mapped block excluded, it fits)
	used     uint128
	free     *btree.BTreeG[interval]
	bm       *blocks  // bitmaps of crowded blocks; nil with Random
	w        *weights // nil unless the strategy is Random
}

func familyIndex(f Family) int {
	if f == IPv6 {
		return 1
	}
	return 0
}

// NewAllocator returns an allocator over ranges, which may mix IPv4 and IPv6
// but must not overlap or repeat (ErrOverlap, naming both ranges) and must be
// valid (ErrInvalidRange). Adjacent ranges are fine.
func NewAllocator(ranges []Range, opts ...AllocatorOption) (*Allocator, error) {
	var cfg allocConfig
	for _, o := range opts {
		o.applyAllocator(&cfg)
	}
	if cfg.strategy > Random {
		return nil, fmt.Errorf("%w: unknown %v", ErrInvalidConfig, cfg.strategy)
	}
	sorted, err := sortRanges(ranges)
	if err != nil {
		return nil, err
	}
	a := &Allocator{ranges: sorted, strategy: cfg.strategy}
	if cfg.strategy == Random {
		src := cfg.src
		if src == nil {
			src = globalSource{}
		}
		a.rnd = rand.New(src)
	}
	for _, f := range []Family{IPv4, IPv6} {
		if s := newSpace(f, sorted, cfg); s != nil {
			a.fams[familyIndex(f)] = s
		}
	}
	if err := a.reserve(cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// sortRanges validates ranges and returns them sorted, or an error naming
// the first overlapping pair.
func sortRanges(ranges []Range) ([]Range, error) {
	sorted := slices.Clone(ranges)
	for _, r := range sorted {
		if !r.IsValid() {
			return nil, fmt.Errorf("%w: zero Range", ErrInvalidRange)
		}
	}
	slices.SortFunc(sorted, func(x, y Range) int {
		return cmp.Or(x.from.Compare(y.from), x.to.Compare(y.to))
	})
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].Overlaps(sorted[i]) {
			return nil, fmt.Errorf("%w: %s and %s", ErrOverlap, sorted[i-1], sorted[i])
		}
	}
	return sorted, nil
}

// newSpace builds the state of family f from sorted ranges, or returns nil
// if there is no range of f.
func newSpace(f Family, sorted []Range, cfg allocConfig) *space {
	s := &space{family: f, free: btree.NewG(btreeDegree, intervalLess)}
	if cfg.strategy == Random {
		s.w = newWeights()
	} else if cfg.blockShift >= 0 {
		shift, convertAt := blockShiftMax, blockConvertAt
		if cfg.blockShift > 0 {
			shift = min(cfg.blockShift, blockShiftMax)
		}
		if cfg.convertAt > 0 {
			convertAt = cfg.convertAt
		}
		s.bm = newBlocks(uint(shift), convertAt)
	}
	for _, r := range sorted {
		if r.Family() != f {
			continue
		}
		for _, iv := range withoutMapped(r.bounds()) {
			s.capacity = s.capacity.add(size(iv))
			if n := len(s.ranges); n > 0 && s.ranges[n-1].hi.addOne() == iv.lo {
				s.ranges[n-1].hi = iv.hi
			} else {
				s.ranges = append(s.ranges, iv)
			}
		}
	}
	if len(s.ranges) == 0 {
		return nil
	}
	for _, iv := range s.ranges {
		s.free.ReplaceOrInsert(iv)
		s.w.add(iv)
	}
	return s
}

// reserve applies WithReserved and WithFirstLastReserved.
func (a *Allocator) reserve(cfg allocConfig) error {
	addrs := slices.Clone(cfg.reserved)
	if cfg.firstLast {
		for _, r := range a.ranges {
			if _, ok := r.Prefix(); ok && r.Size().Cmp(big.NewInt(2)) > 0 {
				addrs = append(addrs, r.from)
				if !isMapped(r.to) { // excluded anyway
					addrs = append(addrs, r.to)
				}
			}
		}
	}
	for _, addr := range addrs {
		s, v, err := a.lookup(addr)
		if err != nil {
			return fmt.Errorf("%w (WithReserved)", err)
		}
		if it, ok := s.find(v); ok {
			s.take(it, v)
			s.reserved = append(s.reserved, v)
			s.capacity = s.capacity.subOne()
		}
	}
	for _, s := range a.fams {
		if s != nil {
			slices.SortFunc(s.reserved, cmpU128)
		}
	}
	return nil
}

func cmpU128(x, y uint128) int {
	switch {
	case x.less(y):
		return -1
	case y.less(x):
		return 1
	}
	return 0
}

// globalSource is a rand.Source backed by the math/rand/v2 global generator.
type globalSource struct{}

func (globalSource) Uint64() uint64 { return rand.Uint64() }

// Strategy returns the allocator's strategy.
func (a *Allocator) Strategy() Strategy { return a.strategy }

// hasFamily reports whether the allocator has at least one range of family f.
func (a *Allocator) hasFamily(f Family) bool { return a.space(f) != nil }

// contains reports whether addr lies in one of the allocator's ranges
// (reserved addresses included).
func (a *Allocator) contains(addr netip.Addr) bool {
	_, _, err := a.lookup(addr)
	return err == nil
}

// reservedAddr reports whether addr was reserved at construction.
func (a *Allocator) reservedAddr(addr netip.Addr) bool {
	s, v, err := a.lookup(addr)
	return err == nil && s.isReserved(v)
}

func (a *Allocator) space(f Family) *space {
	if f != IPv4 && f != IPv6 {
		return nil
	}
	return a.fams[familyIndex(f)]
}

// lookup returns the space of addr and its numeric value, or ErrOutOfRange
// if addr lies in none of the ranges.
func (a *Allocator) lookup(addr netip.Addr) (*space, uint128, error) {
	s := a.space(FamilyOf(addr))
	if s == nil || addr.Zone() != "" {
		return nil, uint128{}, fmt.Errorf("%w: %s", ErrOutOfRange, addr)
	}
	v := u128From(addr)
	i, _ := slices.BinarySearchFunc(s.ranges, v, func(iv interval, v uint128) int { return cmpU128(iv.hi, v) })
	if i == len(s.ranges) || v.less(s.ranges[i].lo) {
		return nil, uint128{}, fmt.Errorf("%w: %s", ErrOutOfRange, addr)
	}
	return s, v, nil
}

// Allocate returns a free address of family f chosen by the strategy and
// marks it used. It fails with ErrFamily if the allocator has no range of f
// and with ErrExhausted if none is free.
func (a *Allocator) Allocate(f Family) (netip.Addr, error) {
	s := a.space(f)
	if s == nil {
		return netip.Addr{}, fmt.Errorf("%w: no %v range", ErrFamily, f)
	}
	b := s.bm.lowest()
	if s.free.Len() == 0 && b == nil {
		return netip.Addr{}, fmt.Errorf("%w: %v ranges are full", ErrExhausted, f)
	}
	var it interval
	var v uint128
	switch {
	case a.strategy == Random:
		it, v = s.pickRandom(a.rnd)
		s.take(it, v)
	case b != nil && s.bm.below(b, s.free):
		v = b.lowest()
		s.blockTake(b, v)
	default:
		it, _ = s.free.Min()
		v = it.lo
		if it.lo == it.hi {
			s.free.DeleteMin() // cheaper than Delete: no key comparisons
		} else {
			s.take(it, v)
		}
	}
	s.used = s.used.addOne()
	return v.addr(f), nil
}

// AllocateAddr marks the free address addr used. It fails with
// ErrOutOfRange if addr is in no range or is reserved, and with ErrInUse if
// it is already allocated.
func (a *Allocator) AllocateAddr(addr netip.Addr) error {
	s, v, err := a.lookup(addr)
	if err != nil {
		return err
	}
	var it interval
	var ok bool
	b := s.bm.of(v)
	if b != nil {
		ok = b.has(v)
	} else {
		it, ok = s.find(v)
	}
	if !ok {
		if s.isReserved(v) {
			return fmt.Errorf("%w: %s is reserved", ErrOutOfRange, addr)
		}
		return fmt.Errorf("%w: %s", ErrInUse, addr)
	}
	if b != nil {
		s.blockTake(b, v)
	} else {
		n := s.free.Len()
		s.take(it, v)
		if s.bm != nil && s.free.Len() > n && s.walk(v).inBlock >= s.bm.convertAt {
			s.crowded(v)
		}
	}
	s.used = s.used.addOne()
	return nil
}

// Release returns the allocated address addr to the free space. It fails
// with ErrNotAllocated if addr is free or reserved, and with an error
// matching both ErrNotAllocated and ErrOutOfRange if addr is in no range.
func (a *Allocator) Release(addr netip.Addr) error {
	s, v, err := a.lookup(addr)
	if err != nil {
		return errorf("%w: %w", ErrNotAllocated, err)
	}
	if s.isReserved(v) {
		return fmt.Errorf("%w: %s", ErrNotAllocated, addr)
	}
	if b := s.bm.of(v); b != nil {
		if b.has(v) {
			return fmt.Errorf("%w: %s", ErrNotAllocated, addr)
		}
		s.blockGive(b, v)
	} else {
		if !s.give(v) {
			return fmt.Errorf("%w: %s", ErrNotAllocated, addr)
		}
	}
	s.used = s.used.subOne()
	return nil
}

// Allocated reports whether addr is allocated.
func (a *Allocator) Allocated(addr netip.Addr) bool {
	s, v, err := a.lookup(addr)
	if err != nil {
		return false
	}
	if b := s.bm.of(v); b != nil {
		return !b.has(v) && !s.isReserved(v)
	}
	_, free := s.find(v)
	return !free && !s.isReserved(v)
}

// Free returns the exact number of free addresses of family f.
func (a *Allocator) Free(f Family) *big.Int {
	s := a.space(f)
	if s == nil {
		return new(big.Int)
	}
	return s.capacity.sub(s.used).big()
}

// Used returns the exact number of allocated addresses of family f.
func (a *Allocator) Used(f Family) *big.Int {
	s := a.space(f)
	if s == nil {
		return new(big.Int)
	}
	return s.used.big()
}

// counts returns the numbers of free and used addresses of family f.
func (a *Allocator) counts(f Family) (free, used uint128) {
	if s := a.space(f); s != nil {
		return s.capacity.sub(s.used), s.used
	}
	return uint128{}, uint128{}
}

// capacity returns the number of addresses of family f that can be
// allocated: the size of its ranges minus reserved addresses.
func (a *Allocator) capacity(f Family) *big.Int {
	s := a.space(f)
	if s == nil {
		return new(big.Int)
	}
	return s.capacity.big()
}

// btreeDegree is the degree of the free-interval trees; 8 to 32 measure
// alike, smaller is slower.
const btreeDegree = 32
