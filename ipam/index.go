package ipam

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/google/btree"
)

// A rangeEntry is one configured range of one pool. It is active (in use)
// or conflicting. Active entries never overlap each other; a conflicting
// entry overlaps at least one active entry of another pool (its blockers).
type rangeEntry struct {
	r       Range
	pool    *pool
	seq     uint64 // order of addition, for a deterministic re-evaluation
	active  bool
	removed bool
	// blockers are, for a conflicting entry, the active entries it overlapped
	// when last evaluated that are still active; it is evaluated again when
	// the last of them goes. Entries that became active later may overlap it
	// too (conflicts lists them all). blocks is the reverse relation.
	blockers map[*rangeEntry]struct{}
	blocks   map[*rangeEntry]struct{}
}

// rangeIndex holds the active entries of all pools in a btree ordered by
// first address (IPv4 before IPv6). Since they are disjoint, the entries
// overlapping a range are consecutive in that order, and finding them costs
// O(log n + k) for k overlapping entries.
type rangeIndex struct {
	active *btree.BTreeG[*rangeEntry]
	seq    uint64
	dirty  []*pool     // pools whose active entries changed
	pivot  rangeEntry  // search key, reused: the Manager is locked
	last   *rangeEntry // the entry lookup found last, tried first
}

func newRangeIndex() *rangeIndex {
	return &rangeIndex{active: btree.NewG(32, func(a, b *rangeEntry) bool {
		return a.r.from.Less(b.r.from) // Less orders IPv4 before IPv6
	})}
}

// overlapping calls fn for each active entry overlapping r, from the
// highest down.
func (x *rangeIndex) overlapping(r Range, fn func(*rangeEntry)) {
	pivot := &rangeEntry{r: Range{from: r.to}} // not x.pivot: Pools runs this under a read lock
	x.active.DescendLessOrEqual(pivot, func(e *rangeEntry) bool {
		if !e.r.Overlaps(r) {
			return false
		}
		fn(e)
		return true
	})
}

// lookup returns the active entry containing a, or nil. Lookups of nearby
// addresses in a row (Restore goes in address order) mostly hit the
// entry found last.
func (x *rangeIndex) lookup(a netip.Addr) *rangeEntry {
	if e := x.last; e != nil && e.active && e.r.Contains(a) {
		return e
	}
	var found *rangeEntry
	x.pivot.r.from = a
	x.active.DescendLessOrEqual(&x.pivot, func(e *rangeEntry) bool {
		if e.r.Contains(a) {
			found = e
		}
		return false
	})
	if found != nil {
		x.last = found
	}
	return found
}

// add inserts a new entry for r of pool p: active if it overlaps no active
// entry, conflicting otherwise. It marks p dirty if the entry is active.
func (x *rangeIndex) add(p *pool, r Range) *rangeEntry {
	x.seq++
	e := &rangeEntry{r: r, pool: p, seq: x.seq}
	x.evaluate(e)
	return e
}

// evaluate makes the inactive entry e active if it overlaps no active
// entry, and records its blockers otherwise.
func (x *rangeIndex) evaluate(e *rangeEntry) {
	x.overlapping(e.r, func(b *rangeEntry) {
		if e.blockers == nil {
			e.blockers = make(map[*rangeEntry]struct{})
		}
		if b.blocks == nil {
			b.blocks = make(map[*rangeEntry]struct{})
		}
		e.blockers[b] = struct{}{}
		b.blocks[e] = struct{}{}
	})
	if len(e.blockers) == 0 {
		e.active = true
		e.blockers = nil
		x.active.ReplaceOrInsert(e)
		x.dirty = append(x.dirty, e.pool)
	}
}

// remove takes e out of the index. It returns the conflicting entries that
// e was the last blocker of: the caller re-evaluates them with reevaluate
// once all changes are made.
func (x *rangeIndex) remove(e *rangeEntry) []*rangeEntry {
	e.removed = true
	if !e.active {
		for b := range e.blockers {
			delete(b.blocks, e)
		}
		e.blockers = nil
		return nil
	}
	x.active.Delete(e)
	e.active = false
	x.dirty = append(x.dirty, e.pool)
	var freed []*rangeEntry
	for c := range e.blocks {
		delete(c.blockers, e)
		if len(c.blockers) == 0 {
			freed = append(freed, c)
		}
	}
	e.blocks = nil
	return freed
}

// reevaluate evaluates the freed entries in the order they were added
// (oldest first), skipping those no longer in the index. It returns those
// that became active.
func (x *rangeIndex) reevaluate(freed []*rangeEntry) []*rangeEntry {
	slices.SortFunc(freed, func(a, b *rangeEntry) int { return cmp.Compare(a.seq, b.seq) })
	var cleared []*rangeEntry
	for _, e := range freed {
		if !e.removed && !e.active && len(e.blockers) == 0 {
			if x.evaluate(e); e.active {
				cleared = append(cleared, e)
			}
		}
	}
	return cleared
}

// takeDirty returns the pools whose active entries changed since the last
// call.
func (x *rangeIndex) takeDirty() []*pool {
	d := x.dirty
	x.dirty = nil
	return d
}

// conflicts returns the active entries overlapping the conflicting entry e,
// sorted by address and pool name.
func (x *rangeIndex) conflicts(e *rangeEntry) []*rangeEntry {
	var bs []*rangeEntry
	x.overlapping(e.r, func(b *rangeEntry) { bs = append(bs, b) })
	slices.SortFunc(bs, func(a, b *rangeEntry) int {
		return cmp.Or(a.r.from.Compare(b.r.from), cmp.Compare(a.pool.name(), b.pool.name()))
	})
	return bs
}
