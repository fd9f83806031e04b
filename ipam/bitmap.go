package ipam

import (
	"math/bits"
	"slices"

	"github.com/google/btree"
)

// Crowded blocks.
//
// Lowest-first allocation with churn leaves many single free addresses
// among live ones: as free intervals, each costs a btree item (about 70
// bytes) and every release or allocation descends the tree to a random
// place, a cache miss per level. So an aligned block of 4,096 addresses
// that holds many free intervals is kept instead as a bitmap of its free
// addresses (512 bytes): releasing there is a map lookup and a bit flip,
// and the lowest free address of the block is a scan of at most 64 words.
//
// The free space of a family is then the union of the free intervals in
// the tree and the set bits of the bitmaps; no free interval overlaps a
// bitmap's block. A block becomes a bitmap when a change leaves
// blockConvertAt free intervals in it; its bitmap is dropped when its last
// free address is taken (the block holds no free interval then, which the
// tree represents by holding nothing), and turns back into intervals when
// every address of it is free again. The Random strategy keeps intervals
// only: its weights index free intervals.

const (
	blockShiftMax  = 12 // 4,096 addresses: a bitmap of 64 words
	blockConvertAt = 16 // free intervals in a block that turn it into a bitmap
)

// block is the bitmap of the free addresses of one aligned block.
type block struct {
	start uint128 // first address of the block
	free  int     // set bits
	cap   int     // addresses of the block in the ranges and not reserved
	low   int     // index of the lowest word that may be non-zero
	bits  [1 << (blockShiftMax - 6)]uint64
}

func blockLess(a, b *block) bool { return a.start.less(b.start) }

// blocks holds the bitmaps of one family.
type blocks struct {
	shift     uint // log2 of the block size, at most blockShiftMax
	convertAt int  // free intervals in a block that turn it into a bitmap
	byStart   map[uint128]*block
	order     *btree.BTreeG[*block] // by start
	first     *block                // the lowest bitmap, or nil
}

// newBlocks returns an empty set of bitmaps; its map and tree are made
// with the first bitmap.
func newBlocks(shift uint, convertAt int) *blocks {
	return &blocks{shift: shift, convertAt: convertAt}
}

// bounds returns the first and last address of the block holding v.
func (bs *blocks) bounds(v uint128) (lo, hi uint128) {
	size := uint64(1) << bs.shift
	lo = uint128{v.hi, v.lo &^ (size - 1)}
	return lo, uint128{lo.hi, lo.lo | (size - 1)}
}

// of returns the bitmap of the block holding v, or nil.
func (bs *blocks) of(v uint128) *block {
	if bs == nil || bs.first == nil || v.less(bs.first.start) {
		return nil // below every bitmap: no map lookup
	}
	lo, _ := bs.bounds(v)
	return bs.byStart[lo]
}

// lowest returns the lowest bitmap, or nil.
func (bs *blocks) lowest() *block {
	if bs == nil {
		return nil
	}
	return bs.first
}

// below reports whether the free addresses of b lie below every free
// interval of free. No free interval overlaps b's block, so comparing with
// the lowest interval's start is enough.
func (bs *blocks) below(b *block, free *btree.BTreeG[interval]) bool {
	it, ok := free.Min()
	return !ok || b.start.less(it.lo)
}

// has reports whether v, in b, is free.
func (b *block) has(v uint128) bool {
	off := v.lo - b.start.lo
	return b.bits[off/64]&(1<<(off%64)) != 0
}

// set marks v, in b, free.
func (b *block) set(v uint128) {
	off := v.lo - b.start.lo
	b.bits[off/64] |= 1 << (off % 64)
	b.low = min(b.low, int(off/64))
	b.free++
}

// clear marks the free address v, in b, used.
func (b *block) clear(v uint128) {
	off := v.lo - b.start.lo
	b.bits[off/64] &^= 1 << (off % 64)
	b.free--
}

// lowest returns the lowest free address of b, which must hold one.
func (b *block) lowest() uint128 {
	for b.bits[b.low] == 0 {
		b.low++
	}
	off := uint64(b.low*64 + bits.TrailingZeros64(b.bits[b.low]))
	return uint128{b.start.hi, b.start.lo + off}
}

// runs calls f with every maximal run [lo, hi] of free addresses of b, in
// ascending order.
func (b *block) runs(f func(lo, hi uint128)) {
	n := uint64(len(b.bits) * 64)
	for off := uint64(0); off < n; {
		w := b.bits[off/64] >> (off % 64)
		if w == 0 {
			off += 64 - off%64
			continue
		}
		off += uint64(bits.TrailingZeros64(w))
		end := off
		for end < n && b.bits[end/64]&(1<<(end%64)) != 0 {
			end++
		}
		f(uint128{b.start.hi, b.start.lo + off}, uint128{b.start.hi, b.start.lo + end - 1})
		off = end
	}
}

// blockTake marks the free address v of bitmap b used, dropping the bitmap
// when it was the last free address.
func (s *space) blockTake(b *block, v uint128) {
	b.clear(v)
	if b.free == 0 {
		s.bm.remove(b)
	}
}

// blockGive marks the used address v of bitmap b free, and turns the block
// back into free intervals when all of it is free.
func (s *space) blockGive(b *block, v uint128) {
	b.set(v)
	if b.free < b.cap {
		return
	}
	s.bm.remove(b)
	b.runs(s.giveRun)
}

// crowded turns the block holding v, which is not a bitmap, into one.
func (s *space) crowded(v uint128) {
	lo, hi := s.bm.bounds(v)
	b := &block{start: lo, cap: s.allocatable(lo, hi)}
	var in []interval
	s.free.AscendGreaterOrEqual(interval{hi: lo}, func(x interval) bool {
		if hi.less(x.lo) {
			return false
		}
		in = append(in, x)
		return true
	})
	for _, x := range in {
		s.free.Delete(x)
		if x.lo.less(lo) {
			s.free.ReplaceOrInsert(interval{lo: x.lo, hi: lo.subOne()})
			x.lo = lo
		}
		if hi.less(x.hi) {
			s.free.ReplaceOrInsert(interval{lo: hi.addOne(), hi: x.hi})
			x.hi = hi
		}
		for v := x.lo; ; v = v.addOne() {
			b.set(v)
			if v == x.hi {
				break
			}
		}
	}
	s.bm.add(b)
}

// add indexes the new bitmap b.
func (bs *blocks) add(b *block) {
	if bs.order == nil {
		bs.byStart, bs.order = map[uint128]*block{}, btree.NewG(btreeDegree, blockLess)
	}
	bs.byStart[b.start] = b
	bs.order.ReplaceOrInsert(b)
	if bs.first == nil || b.start.less(bs.first.start) {
		bs.first = b
	}
}

// remove drops the bitmap b.
func (bs *blocks) remove(b *block) {
	delete(bs.byStart, b.start)
	bs.order.Delete(b)
	if bs.first == b {
		bs.first, _ = bs.order.Min()
	}
}

// allocatable returns the number of addresses in [lo, hi], a block, that
// lie in the ranges and are not reserved.
func (s *space) allocatable(lo, hi uint128) int {
	n := 0
	i, _ := slices.BinarySearchFunc(s.ranges, lo, func(r interval, v uint128) int { return cmpU128(r.hi, v) })
	for ; i < len(s.ranges) && !hi.less(s.ranges[i].lo); i++ {
		a, b := maxU128(lo, s.ranges[i].lo), minU128(hi, s.ranges[i].hi)
		n += int(b.lo-a.lo) + 1
	}
	j, _ := slices.BinarySearchFunc(s.reserved, lo, cmpU128)
	for ; j < len(s.reserved) && !hi.less(s.reserved[j]); j++ {
		n--
	}
	return n
}

func maxU128(a, b uint128) uint128 {
	if a.less(b) {
		return b
	}
	return a
}

func minU128(a, b uint128) uint128 {
	if a.less(b) {
		return a
	}
	return b
}
