package ipam

import (
	"cmp"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
)

// A Manager assigns addresses to services from many pools: it is what a
// controller calls for each LoadBalancer service (Restore once at start,
// Assign when the service or a pool changes, Release when the service
// goes).
//
// Each pool has an Allocator over its ranges in use, so choosing or
// checking an address costs O(log n) in the pool's free intervals, plus one
// selector match per pool that may select the service: pools are indexed
// by the In and = requirements of their selectors, so only pools without
// such a requirement are matched against every service. Ranges in use of
// all pools are indexed in one btree, so SetPool costs O(log n) per range
// for n ranges in all pools (plus rebuilding the allocators of the pools
// whose ranges in use change, O(k log n) for k held addresses).
//
// A Manager is safe for concurrent use: every method takes one lock (Pools
// and Assignments a read lock), and none does I/O or starts goroutines.
type Manager struct {
	mu        sync.RWMutex
	pools     map[string]*pool
	order     []*pool    // the order pools are tried: priority desc, name asc
	byLabel   *poolIndex // pools by selector labels; nil until needed after a change
	index     *rangeIndex
	records   map[string]*record
	log       *slog.Logger // nil: no logging
	src       rand.Source  // nil: global source
	dirty     []*pool      // pools whose allocator must be rebuilt
	txlog     []undo       // reused by tx
	txfreed   []*holder    // reused by tx
	spare     []*holder    // freed holders, for reuse
	req       request      // the request being served, reused
	scanPools bool         // match every pool's selectors instead of using byLabel (benchmarks)
	// recSlab and holderSlab preallocate the records and holders of Restore.
	recSlab    []record
	holderSlab []holder
	claimed    []claimed // addresses Restore claimed, allocated at its end
}

// A ManagerOption configures NewManager.
type ManagerOption interface{ applyManager(*Manager) }

type managerOption func(*Manager)

func (o managerOption) applyManager(m *Manager) { o(m) }

// WithLogger makes the Manager log its decisions (assignments,
// reassignments, releases, conflicts) to l.
func WithLogger(l *slog.Logger) ManagerOption {
	return managerOption(func(m *Manager) { m.log = l })
}

// NewManager returns a Manager without pools.
func NewManager(opts ...ManagerOption) *Manager {
	m := &Manager{
		pools:   make(map[string]*pool),
		index:   newRangeIndex(),
		records: make(map[string]*record),
	}
	for _, o := range opts {
		o.applyManager(m)
	}
	return m
}

// A record is the assignment of one service.
type record struct {
	key        string
	pool       *pool
	holders    []*holder // IPv4 first
	sharingKey string
	inline     [2]*holder // backing array of holders
}

func (m *Manager) newRecord(req *request, p *pool) *record {
	var r *record
	if n := len(m.recSlab); n < cap(m.recSlab) {
		m.recSlab = m.recSlab[:n+1]
		r = &m.recSlab[n]
	} else {
		r = new(record)
	}
	r.key, r.pool, r.sharingKey = req.Key, p, req.SharingKey
	r.holders = r.inline[:0]
	return r
}

// stale reports whether r's pool was deleted or one of its addresses left
// the pool.
func (r *record) stale() bool {
	return r.pool.dead || slices.ContainsFunc(r.holders, func(h *holder) bool { return h.dead })
}

func (r *record) addrs() []netip.Addr {
	as := make([]netip.Addr, len(r.holders))
	for i, h := range r.holders {
		as[i] = h.addr
	}
	return as
}

func (r *record) assignment(reason Reason) Assignment {
	return Assignment{Key: r.key, Pool: r.pool.name(), Addrs: r.addrs(),
		SharingKey: r.sharingKey, Stale: r.stale(), Reason: reason}
}

// has reports whether r holds an address of family f.
func (r *record) has(f Family) bool {
	return slices.ContainsFunc(r.holders, func(h *holder) bool { return FamilyOf(h.addr) == f })
}

// SetPool adds the pool p, or updates the pool of the same name.
//
// A new range of p that overlaps a range in use of another pool is marked
// conflicting and not used (Pools reports it and why); the rest of p is
// used. The range in use keeps working: a range in use stays so as long as
// its pool keeps it, so overlaps never move assignments. When the ranges in
// use that a conflicting range overlaps go away (their pools are deleted or
// shrink), the conflict clears and the range is used, unless it overlaps
// another range in use by then; conflicting ranges are re-examined oldest
// first. Finding overlaps costs O(log n) per range for n ranges in all
// pools.
//
// Assignments whose addresses remain in p's usable ranges are kept; the
// others become stale and move at their next Assign. SetPool fails only
// for an invalid pool (ErrInvalidPool, with ErrOverlap or ErrInvalidRange
// for bad ranges), and then changes nothing.
func (m *Manager) SetPool(p Pool) error {
	sorted, err := p.check()
	if err != nil {
		return err
	}
	p.Ranges = sorted
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.upsert(p)
	if !st.sameRanges(sorted) {
		m.setRanges(st, sorted)
	}
	m.rebuild()
	if m.log != nil {
		m.logConflicts(st)
	}
	return nil
}

// upsert returns the state of pool p, created or with its configuration
// replaced by p (but for the ranges, which setRanges changes).
func (m *Manager) upsert(p Pool) *pool {
	st := m.pools[p.Name]
	if st == nil {
		st = &pool{cfg: p, holders: make(map[netip.Addr]*holder), sharing: make(map[string][]*holder)}
		m.pools[p.Name] = st
		m.markDirty(st)
		m.insertOrder(st)
	}
	if st.cfg.Strategy != p.Strategy || st.cfg.AllowFirstLast != p.AllowFirstLast {
		m.markDirty(st)
	}
	if st.cfg.Priority != p.Priority {
		m.removeOrder(st)
		st.cfg.Priority = p.Priority
		m.insertOrder(st)
	}
	st.cfg = p
	m.byLabel = nil // selectors, Disabled or ManualOnly may have changed
	st.svcVirtual = mentions(p.ServiceSelector, ServiceNamespaceLabel, ServiceNameLabel)
	st.nsVirtual = mentions(p.NamespaceSelector, NamespaceNameLabel)
	return st
}

// setRanges replaces the ranges of p by sorted, keeping the entries of
// ranges that stay.
func (m *Manager) setRanges(p *pool, sorted []Range) {
	keep := make(map[Range]*rangeEntry, len(p.entries))
	for _, e := range p.entries {
		keep[e.r] = e
	}
	for _, r := range sorted {
		delete(keep, r)
	}
	var freed []*rangeEntry
	for _, e := range keep {
		freed = append(freed, m.index.remove(e)...)
	}
	entries := make([]*rangeEntry, len(sorted))
	j := 0
	for i, r := range sorted {
		for j < len(p.entries) && p.entries[j].r.from.Less(r.from) {
			j++
		}
		if j < len(p.entries) && p.entries[j].r == r {
			entries[i] = p.entries[j]
			continue
		}
		entries[i] = m.index.add(p, r)
	}
	p.entries = entries
	m.logCleared(m.index.reevaluate(freed))
}

// markDirty schedules p's allocator for rebuilding.
func (m *Manager) markDirty(p *pool) {
	if !p.dirty {
		p.dirty = true
		m.dirty = append(m.dirty, p)
	}
}

// rebuild rebuilds the allocators of dirty pools: those marked by
// markDirty and those whose ranges in use the index changed.
func (m *Manager) rebuild() {
	for _, p := range m.index.takeDirty() {
		m.markDirty(p)
	}
	for _, p := range m.dirty {
		p.dirty = false
		if p.dead {
			continue
		}
		for _, h := range p.rebuild(m) {
			if m.log != nil {
				m.log.Info("ipam: address left its pool", "pool", p.name(), "addr", h.addr, "services", h.userKeys())
			}
		}
	}
	m.dirty = m.dirty[:0]
}

// compareOrder orders pools as they are tried: priority descending, then
// name ascending.
func compareOrder(a, b *pool) int {
	return cmp.Or(cmp.Compare(b.cfg.Priority, a.cfg.Priority), cmp.Compare(a.name(), b.name()))
}

// insertOrder inserts p into m.order at its place.
func (m *Manager) insertOrder(p *pool) {
	i, _ := slices.BinarySearchFunc(m.order, p, compareOrder)
	m.order = slices.Insert(m.order, i, p)
}

// removeOrder removes p, at its place, from m.order.
func (m *Manager) removeOrder(p *pool) {
	if i, ok := slices.BinarySearchFunc(m.order, p, compareOrder); ok {
		m.order = slices.Delete(m.order, i, i+1)
	}
	m.byLabel = nil
}

func (m *Manager) logConflicts(p *pool) {
	for _, e := range p.entries {
		if e.active {
			continue
		}
		for _, b := range m.index.conflicts(e) {
			m.log.Warn("ipam: range conflicts, not used", "pool", p.name(), "range", e.r,
				"with_pool", b.pool.name(), "with_range", b.r)
		}
	}
}

// logCleared logs the conflicting ranges that are now in use.
func (m *Manager) logCleared(cleared []*rangeEntry) {
	if m.log == nil {
		return
	}
	for _, e := range cleared {
		m.log.Info("ipam: range conflict cleared, now used", "pool", e.pool.name(), "range", e.r)
	}
}

// DeletePool deletes the pool named name (ErrNotFound if there is none).
// Its services keep their records, marked stale, until their next Assign
// moves them or Release drops them; its addresses are free for other pools
// at once. Ranges of other pools that conflicted only with it are used.
func (m *Manager) DeletePool(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pools[name]
	if p == nil {
		return fmt.Errorf("%w: pool %q", ErrNotFound, name)
	}
	var freed []*rangeEntry
	for _, e := range p.entries {
		freed = append(freed, m.index.remove(e)...)
	}
	p.dead = true
	for _, h := range p.holders {
		h.dead = true
	}
	delete(m.pools, name)
	m.removeOrder(p)
	m.logCleared(m.index.reevaluate(freed))
	m.rebuild()
	if m.log != nil {
		m.log.Info("ipam: pool deleted", "pool", name, "services", p.users)
	}
	return nil
}

// Pools returns the status of every pool, in the order they are tried for
// a service: priority descending, then name.
func (m *Manager) Pools() []PoolStatus {
	m.mu.RLock()
	defer m.mu.RUnlock()
	st := make([]PoolStatus, len(m.order))
	n := 0
	for _, p := range m.order {
		n += p.statusRanges()
	}
	buf := make([]Range, n) // the Ranges and Active of all pools
	for i, p := range m.order {
		buf = p.status(&st[i], m.index, buf)
	}
	return st
}

// Pool returns the status of the pool named name, and whether it exists.
func (m *Manager) Pool(name string) (PoolStatus, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p := m.pools[name]
	if p == nil {
		return PoolStatus{}, false
	}
	var st PoolStatus
	p.status(&st, m.index, nil)
	return st, true
}

// Assignment returns the assignment of the service key, and whether it has
// one (Assignment.Stale says whether it is still valid).
func (m *Manager) Assignment(key string) (Assignment, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r := m.records[key]
	if r == nil {
		return Assignment{}, false
	}
	return r.assignment(Unchanged), true
}

// Assignments returns every service's assignment, sorted by key, including
// stale ones (Assignment.Stale).
func (m *Manager) Assignments() []Assignment {
	m.mu.RLock()
	defer m.mu.RUnlock()
	as := make([]Assignment, 0, len(m.records))
	for _, r := range m.records {
		as = append(as, r.assignment(Unchanged))
	}
	slices.SortFunc(as, func(a, b Assignment) int { return cmp.Compare(a.Key, b.Key) })
	return as
}

// Release drops the addresses of the service key. A shared address stays
// with its other services. An unknown key fails with ErrNotFound.
func (m *Manager) Release(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.records[key]
	if r == nil {
		return fmt.Errorf("%w: service %q holds no addresses", ErrNotFound, key)
	}
	if m.log != nil {
		m.log.Info("ipam: released", "service", key, "pool", r.pool.name(), "addrs", r.addrs())
	}
	t := m.begin()
	t.release(r)
	t.end() // r's holders may be reused from here on
	return nil
}
