package ipam

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"

	"github.com/lbkit/lbkit/selector"
)

// A Pool is a named set of address ranges with rules saying which services
// may get addresses from it.
type Pool struct {
	// Name identifies the pool; it must not be empty.
	Name string
	// Ranges may mix IPv4 and IPv6; they must not overlap each other.
	Ranges []Range
	// ServiceSelector is matched against the service's labels plus the
	// virtual labels ServiceNamespaceLabel and ServiceNameLabel. The zero
	// Selector selects every service.
	ServiceSelector selector.Selector
	// NamespaceSelector is matched against the labels of the service's
	// namespace (Request.NamespaceLabels, plus NamespaceNameLabel). The
	// zero Selector selects every namespace.
	NamespaceSelector selector.Selector
	// Priority orders the pools tried for a service: higher first, equal
	// priorities by name (byte-wise ascending).
	Priority int
	// AllowFirstLast lets the first and last address of every range written
	// as a CIDR prefix of more than two addresses be handed out. Otherwise
	// they are never used. Start–stop ranges are used whole.
	AllowFirstLast bool
	// Disabled keeps existing assignments (Restore adopts them) but makes no
	// new ones: requests that name the pool or ask for its addresses fail
	// with ErrDisabled.
	Disabled bool
	// ManualOnly makes the pool serve only requests that name it
	// (Request.Pool) or ask for addresses inside it (MetalLB's
	// autoAssign: false): automatic allocation never picks it. Addresses
	// assigned from it stay valid as long as its selectors match.
	ManualOnly bool
	// AllowCrossNamespaceSharing lets services of different namespaces share
	// an address (with the same sharing key and no colliding ports).
	AllowCrossNamespaceSharing bool
	// Strategy chooses addresses within the pool (default LowestFirst).
	Strategy Strategy
}

// check validates p and returns its ranges sorted.
func (p *Pool) check() ([]Range, error) {
	if p.Name == "" {
		return nil, fmt.Errorf("%w: empty name", ErrInvalidPool)
	}
	if p.Strategy > Random {
		return nil, fmt.Errorf("%w %q: unknown %v", ErrInvalidPool, p.Name, p.Strategy)
	}
	sorted, err := sortRanges(p.Ranges)
	if err != nil {
		return nil, errorf("%w %q: %w", ErrInvalidPool, p.Name, err)
	}
	return sorted, nil
}

// A Conflict says that a range of a pool is not used because it overlaps a
// range of another pool that was in use first.
type Conflict struct {
	Range Range  // the unused range of this pool
	Pool  string // the other pool
	With  Range  // the other pool's range in use
}

// String describes the conflict.
func (c Conflict) String() string {
	return fmt.Sprintf("%s overlaps %s of pool %q", c.Range, c.With, c.Pool)
}

// PoolStatus is the state of a pool, as reported by Manager.Pools.
type PoolStatus struct {
	Name      string
	Ranges    []Range    // all configured ranges, sorted
	Active    []Range    // the ranges in use: Ranges minus conflicting ones (Ranges itself if none conflicts)
	Conflicts []Conflict // why the other ranges are not in use
	Disabled  bool
	// Services is the number of services holding addresses of the pool.
	Services int
	free     [2]uint128
	used     [2]uint128
}

// Free returns the exact number of free addresses of family f in the
// pool's usable ranges.
func (s PoolStatus) Free(f Family) *big.Int { return s.count(s.free, f) }

// Used returns the exact number of addresses of family f held by services
// (a shared address counts once).
func (s PoolStatus) Used(f Family) *big.Int { return s.count(s.used, f) }

func (s PoolStatus) count(c [2]uint128, f Family) *big.Int {
	if f != IPv4 && f != IPv6 {
		return new(big.Int)
	}
	return c[familyIndex(f)].big()
}

// Conflicting reports whether some of the pool's ranges are not in use.
func (s PoolStatus) Conflicting() bool { return len(s.Conflicts) > 0 }

// pool is the Manager's state for one Pool.
type pool struct {
	cfg     Pool
	entries []*rangeEntry // one per configured range, sorted by range
	alloc   *Allocator    // over the active ranges
	holders map[netip.Addr]*holder
	sharing map[string][]*holder // by sharing key
	users   int                  // number of services holding addresses
	dead    bool                 // deleted
	dirty   bool                 // scheduled for rebuild
	rank    int                  // place in Manager.order when byLabel was built
	// svcVirtual and nsVirtual record whether the selectors use virtual labels.
	svcVirtual, nsVirtual bool
}

func (p *pool) name() string { return p.cfg.Name }

// activeRanges returns the ranges of p in use, sorted.
func (p *pool) activeRanges() []Range {
	rs := make([]Range, 0, len(p.entries))
	for _, e := range p.entries {
		if e.active {
			rs = append(rs, e.r)
		}
	}
	return rs
}

// allocOptions returns the options of p's allocator.
func (p *pool) allocOptions(m *Manager) []AllocatorOption {
	opts := []AllocatorOption{WithStrategy(p.cfg.Strategy)}
	if !p.cfg.AllowFirstLast {
		opts = append(opts, WithFirstLastReserved())
	}
	if m.src != nil {
		opts = append(opts, WithRandSource(m.src))
	}
	return opts
}

// rebuild recreates p's allocator over its active ranges, keeping every
// held address that is still inside; it drops the others and returns their
// holders.
func (p *pool) rebuild(m *Manager) []*holder {
	a, err := NewAllocator(p.activeRanges(), p.allocOptions(m)...)
	if err != nil { // cannot happen: ranges were validated and are disjoint
		panic(fmt.Sprintf("ipam: rebuilding pool %q: %v", p.name(), err))
	}
	p.alloc = a
	var dropped []*holder
	for _, h := range p.holders {
		if a.AllocateAddr(h.addr) != nil {
			dropped = append(dropped, h)
		}
	}
	for _, h := range dropped {
		p.forget(h)
	}
	return dropped
}

// selects reports whether p's selectors match req. Selectors that need no
// virtual label see the label sets as they are, which is faster.
func (p *pool) selects(req *request) bool {
	svc := selector.Labels((*svcLabels)(req))
	if !p.svcVirtual {
		svc = req.Labels
	}
	ns := selector.Labels((*nsLabels)(req))
	if !p.nsVirtual {
		ns = req.NamespaceLabels
	}
	return p.cfg.ServiceSelector.Matches(svc) && p.cfg.NamespaceSelector.Matches(ns)
}

// mentions reports whether s has a requirement on one of keys.
func mentions(s selector.Selector, keys ...string) bool {
	for _, r := range s.Requirements() {
		if slices.Contains(keys, r.Key) {
			return true
		}
	}
	return false
}

// status fills s with p's status, taking its Ranges (and Active, if some
// range conflicts) from the front of buf, allocated if too short, and
// returns the rest of buf.
func (p *pool) status(s *PoolStatus, x *rangeIndex, buf []Range) []Range {
	*s = PoolStatus{Name: p.name(), Disabled: p.cfg.Disabled, Services: p.users}
	k := len(p.entries)
	n := p.statusRanges()
	if len(buf) < n {
		buf = make([]Range, n)
	}
	s.Ranges, s.Active, buf = buf[:0:k], buf[k:k:n], buf[n:]
	for _, e := range p.entries {
		s.Ranges = append(s.Ranges, e.r)
		if e.active {
			if n > k {
				s.Active = append(s.Active, e.r)
			}
			continue
		}
		for _, b := range x.conflicts(e) {
			s.Conflicts = append(s.Conflicts, Conflict{Range: e.r, Pool: b.pool.name(), With: b.r})
		}
	}
	switch {
	case k == 0:
		s.Ranges, s.Active = nil, nil
	case n == k:
		s.Active = s.Ranges // all in use: one slice
	case len(s.Active) == 0:
		s.Active = nil
	}
	for _, f := range []Family{IPv4, IPv6} {
		s.free[familyIndex(f)], s.used[familyIndex(f)] = p.alloc.counts(f)
	}
	return buf
}

// statusRanges returns the number of ranges status stores: Ranges, and
// Active too if some range is not in use.
func (p *pool) statusRanges() int {
	for _, e := range p.entries {
		if !e.active {
			return 2 * len(p.entries)
		}
	}
	return len(p.entries)
}

// sameRanges reports whether p's configured ranges are exactly sorted.
func (p *pool) sameRanges(sorted []Range) bool {
	return slices.EqualFunc(p.entries, sorted, func(e *rangeEntry, r Range) bool { return e.r == r })
}
