package ipam

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// Restore adopts existing assignments, typically read back from each
// Service's status when a controller starts, before any Assign. For each
// request, the addresses in Request.Addrs are held for the service if they
// are still valid for it: in the usable ranges of one pool (a disabled or
// ManualOnly pool included) that selects the service and that Request.Pool,
// if set, names; not reserved; free, or held by services it may share
// with.
//
// Restore returns one error per request, in order: nil when the service
// now holds exactly those addresses, otherwise an error wrapping a sentinel
// that says why (ErrInvalidRequest for a request without addresses,
// ErrOutOfRange for an address in no pool's usable ranges, ErrNoPool for a
// pool that does not select the service, ErrInUse, with ErrSharing, for an
// address held by services it may not share with, ErrInUse for a service
// that already holds other addresses), and then nothing is held for that
// request: Assign it normally once Restore returns. Requests are applied
// in address order, so the result does not depend on the order of reqs and
// services sharing an address are restored together.
func (m *Manager) Restore(reqs []Request) []error {
	errs := make([]error, len(reqs))
	order, nports, naddrs := restoreOrder(reqs, errs)
	ports := make([]Port, 0, nports) // one backing array for all ports
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reserve(order, naddrs)
	for _, o := range order {
		m.req = request{Request: reqs[o.i]}
		req := &m.req
		n := len(ports)
		ports = append(ports, req.Ports...)
		req.Ports = ports[n:len(ports):len(ports)]
		req.index()
		errs[o.i] = m.restore(req)
	}
	m.req = request{}
	m.allocateClaimed()
	if m.log != nil {
		m.logRestore(reqs, errs)
	}
	return errs
}

// A restoreItem is a valid request to restore, by index in the caller's
// slice, with the first of its addresses as a sort key (IPv4 first).
type restoreItem struct {
	v6    bool
	first uint128
	i     int
}

func (a *restoreItem) compare(b *restoreItem, reqs []Request) int {
	switch {
	case a.v6 != b.v6:
		if b.v6 {
			return -1
		}
		return 1
	case a.first != b.first:
		return cmpU128(a.first, b.first)
	}
	return cmp.Or(cmp.Compare(reqs[a.i].Key, reqs[b.i].Key), cmp.Compare(a.i, b.i))
}

// restoreOrder validates reqs, setting errs for invalid ones, and returns
// the others sorted by first address and key, with the number of their
// ports and addresses.
func restoreOrder(reqs []Request, errs []error) (order []restoreItem, nports, naddrs int) {
	order = make([]restoreItem, 0, len(reqs))
	for i := range reqs {
		r := &reqs[i]
		if err := r.validate(); err != nil {
			errs[i] = err
			continue
		}
		if len(r.Addrs) == 0 {
			errs[i] = errorf("%w: service %q: no addresses to restore", ErrInvalidRequest, r.Key)
			continue
		}
		first := slices.MinFunc(r.Addrs, netip.Addr.Compare)
		order = append(order, restoreItem{v6: first.Is6(), first: u128From(first), i: i})
		nports += len(r.Ports)
		naddrs += len(r.Addrs)
	}
	slices.SortFunc(order, func(a, b restoreItem) int { return a.compare(&b, reqs) })
	return order, nports, naddrs
}

// reserve makes room for the records of order, holding up to naddrs
// addresses: it preallocates them in slabs and sizes the empty maps of
// the Manager and of the pools that will hold them.
func (m *Manager) reserve(order []restoreItem, naddrs int) {
	n := len(order)
	if len(m.records) == 0 && n > 0 {
		m.records = make(map[string]*record, n)
	}
	m.recSlab = make([]record, 0, n)
	m.holderSlab = make([]holder, 0, naddrs)
	m.claimed = make([]claimed, 0, naddrs)
	counts := make(map[*pool]int)
	for _, o := range order {
		a := o.first.addr(IPv4)
		if o.v6 {
			a = o.first.addr(IPv6)
		}
		if e := m.index.lookup(a); e != nil {
			counts[e.pool]++
		}
	}
	for p, c := range counts {
		if len(p.holders) == 0 {
			p.holders = make(map[netip.Addr]*holder, c)
		}
	}
}

// restore adopts the addresses of req, or changes nothing and fails.
func (m *Manager) restore(req *request) error {
	if old := m.records[req.Key]; old != nil {
		if m.recheck(old, req) == Unchanged {
			m.refresh(old, req)
			return nil
		}
		return refuse(req, old.pool.name(), ErrInUse, "already holds %v", old.addrs())
	}
	t := m.begin()
	defer t.end()
	rec, err := m.placeAddrs(&t, req, true)
	if err != nil {
		t.rollback()
		return err
	}
	t.addRecord(req.Key, rec)
	return nil
}

// claimable returns nil if addr may be allocated in a: it lies in a's
// ranges and is not reserved. It does not look at the free space.
func (a *Allocator) claimable(addr netip.Addr) error {
	s, v, err := a.lookup(addr)
	if err != nil {
		return err
	}
	if s.isReserved(v) {
		return fmt.Errorf("%w: %s is reserved", ErrOutOfRange, addr)
	}
	return nil
}

// claim gives addr of p to req's service during a Restore, sharing it if
// it is held. A new holder is registered without touching the allocator:
// an address of p is allocated if and only if p holds it, so an address
// p does not hold is free if claimable. allocateClaimed allocates the
// claimed addresses once all requests are served, in address order, which
// is much cheaper than allocating them one by one in request order.
func (t *tx) claim(p *pool, addr netip.Addr, req *request) (*holder, error) {
	if h, err := t.joinHolder(p, addr, req); h != nil || err != nil {
		return h, err
	}
	if err := p.alloc.claimable(addr); err != nil {
		return nil, refuse(req, p.name(), err, "address %s", addr)
	}
	h := t.hold(p, addr, req)
	t.m.claimed = append(t.m.claimed, claimed{v6: addr.Is6(), v: u128From(addr), h: h})
	return h, nil
}

// A claimed address, with its sort key (IPv4 first).
type claimed struct {
	v6 bool
	v  uint128
	h  *holder
}

// allocateClaimed allocates the addresses claimed by Restore that are
// still held (a refused request forgets its holders).
func (m *Manager) allocateClaimed() {
	slices.SortFunc(m.claimed, func(a, b claimed) int {
		if a.v6 != b.v6 {
			return cmp.Compare(boolInt(a.v6), boolInt(b.v6))
		}
		return cmpU128(a.v, b.v)
	})
	for _, c := range m.claimed {
		h := c.h
		if h.dead {
			continue
		}
		if err := h.pool.alloc.AllocateAddr(h.addr); err != nil { // cannot happen: claim checked it
			panic(fmt.Sprintf("ipam: restoring %s in pool %q: %v", h.addr, h.pool.name(), err))
		}
	}
	m.claimed = nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m *Manager) logRestore(reqs []Request, errs []error) {
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			m.log.Debug("ipam: not restored", "service", reqs[i].Key, "error", err)
		}
	}
	m.log.Info("ipam: restored", "services", len(reqs)-failed, "failed", failed)
}
