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
// v must be in a range, not reserved and not in a bitmap's block. If the
// space has bitmaps and v's block then holds convertAt free intervals, the
// block becomes a bitmap.
func (s *space) give(v uint128) bool {
	w := s.walk(v)
	if w.hasNext && !v.less(w.next.lo) {
		return false // v is free
	}
	if s.merge(v, v, w.prev, w.hasPrev, w.next, w.hasNext) && s.bm != nil && w.inBlock+1 >= s.bm.convertAt {
		s.crowded(v)
	}
	return true
}

// giveRun adds [lo, hi], in which no address is free, to the free space.
func (s *space) giveRun(lo, hi uint128) {
	w := s.walk(lo)
	s.merge(lo, hi, w.prev, w.hasPrev, w.next, w.hasNext)
}

// neighbourhood is what walk finds around an address v.
type neighbourhood struct {
	prev, next       interval // ending at v-1; first ending at or after v
	hasPrev, hasNext bool
	inBlock          int // free intervals in v's block, if the space has bitmaps
}

// walk finds the free interval ending at v-1, the first one ending at or
// after v and, if the space has bitmaps, counts (up to convertAt) the free
// intervals in v's block, all in one walk: a block that is not a bitmap
// holds fewer than convertAt free intervals.
func (s *space) walk(v uint128) neighbourhood {
	var w neighbourhood
	pivot := v
	if v != u128Zero {
		pivot = v.subOne()
	}
	from, blockLo, blockHi := pivot, u128Zero, u128Max
	if s.bm != nil {
		blockLo, blockHi = s.bm.bounds(v)
		from = minU128(blockLo, pivot)
	}
	s.free.AscendGreaterOrEqual(interval{hi: from}, func(x interval) bool {
		switch {
		case w.hasNext:
			// past v: only counting
		case x.hi.less(pivot):
			w.inBlock++ // from is blockLo: x ends in the block
			return true
		case x.hi == pivot && v != u128Zero:
			w.prev, w.hasPrev = x, true
			if s.bm != nil && !x.hi.less(blockLo) {
				w.inBlock++
			}
			return true
		default:
			w.next, w.hasNext = x, true
		}
		if s.bm == nil || blockHi.less(x.lo) {
			return false
		}
		w.inBlock++
		return w.inBlock < s.bm.convertAt
	})
	return w
}

// merge adds [lo, hi] to the free space, joining prev (which may end at
// lo-1) and next (which may start at hi+1), as found by walk. It reports
// whether that added a free interval (joining neither).
func (s *space) merge(lo, hi uint128, prev interval, hasPrev bool, next interval, hasNext bool) bool {
	joinPrev := hasPrev
	joinNext := hasNext && hi != u128Max && next.lo == hi.addOne()
	switch {
	case joinPrev && joinNext:
		s.free.Delete(prev)
		s.w.remove(prev)
		s.replace(next, interval{lo: prev.lo, hi: next.hi})
	case joinNext:
		s.replace(next, interval{lo: lo, hi: next.hi})
	case joinPrev:
		s.free.Delete(prev)
		s.replace(prev, interval{lo: prev.lo, hi: hi})
	default:
		it := interval{lo: lo, hi: hi}
		s.free.ReplaceOrInsert(it)
		s.w.add(it)
		return true
	}
	return false
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
