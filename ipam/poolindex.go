package ipam

import (
	"cmp"
	"slices"

	"github.com/lbkit/lbkit/selector"
)

// A poolIndex narrows down the pools that may select a service, so that
// placing a service matches the selectors of those pools only, not of every
// pool. A pool whose ServiceSelector (or else NamespaceSelector) has an In
// or = requirement can only select services whose label of that key, as
// the selector sees it (virtual labels included), has one of the listed
// values: the pool is indexed under that key and each value. Other pools
// are scanned. Disabled and ManualOnly pools, which automatic placement
// never picks, and pools selecting nothing are left out.
//
// The index is rebuilt, in O(pools), after any change of the pools or their
// order; candidates are returned in the order pools are tried.
type poolIndex struct {
	svc, ns []keyIndex // by ServiceSelector and NamespaceSelector keys
	scan    []*pool    // pools indexed under no key, in order
	buf     []*pool    // candidates, reused: the Manager is locked
}

// A keyIndex holds the pools indexed under one label key, by value, each
// list in the order pools are tried.
type keyIndex struct {
	key     string
	byValue map[string][]*pool
}

// newPoolIndex indexes the pools of order, which is in the order they are
// tried, and records that order in each pool's rank.
func newPoolIndex(order []*pool) *poolIndex {
	x := &poolIndex{}
	for rank, p := range order {
		p.rank = rank
		c := &p.cfg
		if c.Disabled || c.ManualOnly || c.ServiceSelector.IsNothing() || c.NamespaceSelector.IsNothing() {
			continue
		}
		if r, ok := indexKey(c.ServiceSelector); ok {
			x.svc = addToKey(x.svc, r, p)
		} else if r, ok := indexKey(c.NamespaceSelector); ok {
			x.ns = addToKey(x.ns, r, p)
		} else {
			x.scan = append(x.scan, p)
		}
	}
	return x
}

// indexKey returns the In requirement of s with the fewest values (the
// first by key among equals), if s has one.
func indexKey(s selector.Selector) (selector.Requirement, bool) {
	var best selector.Requirement
	found := false
	for _, r := range s.Requirements() {
		if r.Operator == selector.In && (!found || len(r.Values) < len(best.Values)) {
			best, found = r, true
		}
	}
	return best, found
}

// addToKey indexes p under every value of r in keys, and returns keys.
func addToKey(keys []keyIndex, r selector.Requirement, p *pool) []keyIndex {
	i := slices.IndexFunc(keys, func(k keyIndex) bool { return k.key == r.Key })
	if i < 0 {
		i = len(keys)
		keys = append(keys, keyIndex{key: r.Key, byValue: map[string][]*pool{}})
	}
	for _, v := range r.Values {
		keys[i].byValue[v] = append(keys[i].byValue[v], p)
	}
	return keys
}

// candidates returns the pools that may select req, in the order pools are
// tried. The slice is valid until the next call.
func (x *poolIndex) candidates(req *request) []*pool {
	buf := append(x.buf[:0], x.scan...)
	sources := min(len(x.scan), 1)
	for _, k := range x.svc {
		if v, ok := (*svcLabels)(req).Lookup(k.key); ok {
			if ps := k.byValue[v]; len(ps) > 0 {
				buf = append(buf, ps...)
				sources++
			}
		}
	}
	for _, k := range x.ns {
		if v, ok := (*nsLabels)(req).Lookup(k.key); ok {
			if ps := k.byValue[v]; len(ps) > 0 {
				buf = append(buf, ps...)
				sources++
			}
		}
	}
	if sources > 1 { // each source is in order; a pool is in one source only
		slices.SortFunc(buf, func(a, b *pool) int { return cmp.Compare(a.rank, b.rank) })
	}
	x.buf = buf
	return buf
}
