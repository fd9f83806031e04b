package ipam

import "math/bits"

// weights is a Fenwick (binary indexed) tree over slots, one slot per free
// interval, holding the interval's size. It lets the random strategy pick a
// free address uniformly — an interval with probability proportional to its
// size — in O(log n), which google/btree cannot do because it keeps no
// subtree sums. Slot order is unrelated to address order; that does not
// matter for weighted sampling. Freed slots are reused, so the tree holds as
// many slots as the largest number of free intervals seen at once.
//
// Sums are modulo 2^128: the only sum that can reach 2^128 is the total of
// a fully free ::/0, which then reads as zero (see total).
type weights struct {
	tree   []uint128         // 1-based Fenwick array; tree[0] is unused
	spans  []interval        // spans[slot] is the slot's interval
	slotOf map[uint128]int32 // slot of the interval keyed (ending) at hi
	spare  []int32           // slots whose interval is gone (weight zero)
}

func newWeights() *weights {
	return &weights{tree: make([]uint128, 1), spans: make([]interval, 1), slotOf: map[uint128]int32{}}
}

func size(it interval) uint128 { return it.hi.sub(it.lo).addOne() }

// add gives the new free interval it a slot weighted by its size.
func (w *weights) add(it interval) {
	if w == nil {
		return
	}
	if k := len(w.spare); k > 0 {
		s := w.spare[k-1]
		w.spare = w.spare[:k-1]
		w.spans[s], w.slotOf[it.hi] = it, s
		w.update(s, size(it))
		return
	}
	i := len(w.tree) // new 1-based index
	// tree[i] covers (i-lowbit(i), i]: the new weight plus the existing
	// slots it covers.
	v := size(it).add(w.prefix(i - 1)).sub(w.prefix(i - i&-i))
	w.tree = append(w.tree, v)
	w.spans = append(w.spans, it)
	w.slotOf[it.hi] = int32(i)
}

// remove drops the slot of the free interval it.
func (w *weights) remove(it interval) {
	if w == nil {
		return
	}
	s := w.slotOf[it.hi]
	delete(w.slotOf, it.hi)
	w.update(s, uint128{}.sub(size(it)))
	w.spare = append(w.spare, s)
}

// resize moves the slot of the free interval old to nu, which replaces it.
func (w *weights) resize(old, nu interval) {
	if w == nil {
		return
	}
	s := w.slotOf[old.hi]
	if old.hi != nu.hi {
		delete(w.slotOf, old.hi)
		w.slotOf[nu.hi] = s
	}
	w.spans[s] = nu
	w.update(s, size(nu).sub(size(old)))
}

// update adds d (modulo 2^128) to the weight of slot s.
func (w *weights) update(s int32, d uint128) {
	for i := int(s); i < len(w.tree); i += i & -i {
		w.tree[i] = w.tree[i].add(d)
	}
}

// prefix returns the sum of the weights of slots 1..i.
func (w *weights) prefix(i int) uint128 {
	var sum uint128
	for ; i > 0; i -= i & -i {
		sum = sum.add(w.tree[i])
	}
	return sum
}

// total returns the sum of all weights, modulo 2^128.
func (w *weights) total() uint128 { return w.prefix(len(w.tree) - 1) }

// find returns the slot s such that the weights of slots before s sum to at
// most k and including s to more than k, and k minus the former: the offset
// of the k-th free address within the slot's interval. k must be less than
// the total.
func (w *weights) find(k uint128) (slot int32, off uint128) {
	n := len(w.tree) - 1
	pos := 0
	for step := 1 << (bits.Len(uint(n)) - 1); step > 0; step >>= 1 {
		if next := pos + step; next <= n && !k.less(w.tree[next]) {
			pos = next
			k = k.sub(w.tree[next])
		}
	}
	return int32(pos + 1), k
}
