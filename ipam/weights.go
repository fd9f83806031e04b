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
	tree  []uint128  // 1-based Fenwick array; tree[0] is unused
	spans []interval // spans[slot] is a copy of the slot's interval, to skip a tree lookup
	spare []int32    // slots whose interval is gone (weight zero)
}

func newWeights() *weights {
	return &weights{tree: make([]uint128, 1), spans: make([]interval, 1)}
}

// add makes a slot of weight n for a new interval, to be recorded with
// track; it returns the slot.
func (w *weights) add(n uint128) int32 {
	if w == nil {
		return 0
	}
	if k := len(w.spare); k > 0 {
		s := w.spare[k-1]
		w.spare = w.spare[:k-1]
		w.update(s, n)
		return s
	}
	i := len(w.tree) // new 1-based index
	// tree[i] covers (i-lowbit(i), i]: n plus the existing slots it covers.
	v := n.add(w.prefix(i - 1)).sub(w.prefix(i - i&-i))
	w.tree = append(w.tree, v)
	w.spans = append(w.spans, interval{})
	return int32(i)
}

// remove drops slot s, whose current weight is n.
func (w *weights) remove(s int32, n uint128) {
	if w == nil {
		return
	}
	w.update(s, uint128{}.sub(n))
	w.spare = append(w.spare, s)
}

// update adds d (modulo 2^128) to the weight of slot s.
func (w *weights) update(s int32, d uint128) {
	if w == nil {
		return
	}
	for i := int(s); i < len(w.tree); i += i & -i {
		w.tree[i] = w.tree[i].add(d)
	}
}

// grow adds one to the weight of slot s; shrink subtracts one.
func (w *weights) grow(s int32)   { w.update(s, u128One) }
func (w *weights) shrink(s int32) { w.update(s, u128Max) }

// track records it as the current interval of its slot.
func (w *weights) track(it interval) {
	if w != nil {
		w.spans[it.slot] = it
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
