package ipam

import (
	"math/rand/v2"
	"slices"
)

// find returns the free interval containing v and true, or false if v is
// not free.
func (s *space) find(v uint128) (interval, bool) {
	var it interval
	found := false
	s.free.AscendGreaterOrEqual(interval{hi: v}, func(x interval) bool {
		it, found = x, !v.less(x.lo)
		return false
	})
	return it, found
}

// isReserved reports whether v was reserved at construction.
func (s *space) isReserved(v uint128) bool {
	_, ok := slices.BinarySearchFunc(s.reserved, v, cmpU128)
	return ok
}

// take removes v from the free interval it, which contains it.
func (s *space) take(it interval, v uint128) {
	switch {
	case it.lo == it.hi:
		s.free.Delete(it)
		s.w.remove(it)
	case v == it.lo: // key (hi) unchanged: rewritten in place
		s.replace(it, interval{lo: v.addOne(), hi: it.hi})
	case v == it.hi:
		s.free.Delete(it)
		s.replace(it, interval{lo: it.lo, hi: v.subOne()})
	default: // split: the right part keeps the key, the left part is new
		s.replace(it, interval{lo: v.addOne(), hi: it.hi})
		left := interval{lo: it.lo, hi: v.subOne()}
		s.free.ReplaceOrInsert(left)
		s.w.add(left)
	}
}

// replace stores nu, which takes the place of old in the weights; if the
// keys differ, old must already be deleted from the tree.
func (s *space) replace(old, nu interval) {
	s.free.ReplaceOrInsert(nu)
	s.w.resize(old, nu)
}

// give adds v to the free space, merging it with the free intervals next to
// it, and reports true; it reports false, changing nothing, if v is free.
// v must be in a range and not reserved. A single walk from v-1 finds both
// an adjacent predecessor (hi == v-1) and the successor (first hi >= v).
func (s *space) give(v uint128) bool {
	var prev, next interval
	hasPrev, hasNext := false, false
	pivot := v
	if v != u128Zero {
		pivot = v.subOne()
	}
	s.free.AscendGreaterOrEqual(interval{hi: pivot}, func(x interval) bool {
		if !hasPrev && x.hi == pivot && v != u128Zero {
			prev, hasPrev = x, true
			return true
		}
		next, hasNext = x, true
		return false
	})
	if hasNext && !v.less(next.lo) {
		return false // v is free
	}
	joinPrev, joinNext := hasPrev, hasNext && next.lo == v.addOne()
	switch {
	case joinPrev && joinNext:
		s.free.Delete(prev)
		s.w.remove(prev)
		s.replace(next, interval{lo: prev.lo, hi: next.hi})
	case joinNext:
		s.replace(next, interval{lo: v, hi: next.hi})
	case joinPrev:
		s.free.Delete(prev)
		s.replace(prev, interval{lo: prev.lo, hi: v})
	default:
		it := interval{lo: v, hi: v}
		s.free.ReplaceOrInsert(it)
		s.w.add(it)
	}
	return true
}

// pickRandom returns a free address chosen uniformly at random and its
// interval. The free space must not be empty.
func (s *space) pickRandom(r *rand.Rand) (interval, uint128) {
	total := s.w.total()
	if total.isZero() { // the whole IPv6 space is free: 2^128 addresses
		it, _ := s.free.Min()
		return it, uint128{r.Uint64(), r.Uint64()}
	}
	slot, off := s.w.find(uniform128(r, total))
	it := s.w.spans[slot]
	return it, it.lo.add(off)
}

// uniform128 returns a uniformly random value in [0, n); n must not be zero.
func uniform128(r *rand.Rand, n uint128) uint128 {
	if n.hi == 0 {
		return uint128{0, r.Uint64N(n.lo)}
	}
	mask := uint64(1)<<(n.bitLen()-64) - 1
	if n.bitLen() == 128 {
		mask = ^uint64(0)
	}
	for {
		v := uint128{r.Uint64() & mask, r.Uint64()}
		if v.less(n) {
			return v
		}
	}
}
