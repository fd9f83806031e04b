package ipam

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Assign ensures that the service of r holds addresses, and returns them.
//
// Assign is idempotent: if the service already holds addresses that still
// fit the request, it returns them unchanged (Reason Unchanged). They stop
// fitting when the pool was deleted, an address left the pool's ranges,
// the pool no longer selects the service, the request names another pool
// or other addresses or a family policy the addresses do not satisfy, or
// sharing is no longer possible; Assign then releases them and assigns new
// ones, and the result says why (Reason) and what was replaced (Previous).
// A service that stays in its pool keeps, of its old addresses, those that
// still fit (its IPv4 address when only its IPv6 one left the pool, or when
// it drops IPv6), so only what must move moves.
//
// Without Request.Addrs, pools are tried in order (priority descending,
// then name), skipping disabled and ManualOnly pools unless named by
// Request.Pool; a pool is used if its selectors match and it can give the
// families of Request.Families; all addresses come from one pool. With
// Request.Addrs, exactly those addresses are assigned, from the pool whose
// usable ranges hold them, if that pool selects the service (a disabled or
// ManualOnly pool included) and they are free or may be shared. A service
// with a sharing key first shares an address of the same key, when ports
// and namespaces allow, before taking a free one.
//
// A request for specific addresses of a disabled pool fails with
// ErrDisabled: a disabled pool keeps its assignments (restored with
// Restore) but makes no new ones.
//
// Every refusal returns an error that wraps a sentinel (ErrInvalidRequest,
// ErrNoPool, ErrDisabled, ErrFamily, ErrExhausted, ErrInUse, ErrSharing,
// ErrOutOfRange) and names the service and the pool. Refusing a service
// that holds no addresses, or holds valid ones, changes nothing. A service
// whose addresses are no longer valid for it (Reason other than Unchanged)
// and cannot be given new ones loses them: Assign releases them and
// returns, beside the error, an Assignment with Reason Released and
// Previous set to what was released, so that the caller withdraws them.
func (m *Manager) Assign(r Request) (Assignment, error) {
	if err := r.validate(); err != nil {
		return Assignment{}, err
	}
	r.Ports = slices.Clone(r.Ports) // kept by the Manager
	m.mu.Lock()
	defer m.mu.Unlock()
	m.req = request{Request: r}
	defer func() { m.req = request{} }() // keep no reference to the caller's data
	req := &m.req
	req.index()
	old := m.records[req.Key]
	if old == nil {
		return m.assign(req, nil, Assigned)
	}
	reason := m.recheck(old, req)
	if reason == Unchanged {
		m.refresh(old, req)
		return old.assignment(Unchanged), nil
	}
	return m.assign(req, old, reason)
}

// assign gives req's service new addresses, replacing its record old (if
// not nil) for reason, or changes nothing and fails.
func (m *Manager) assign(req *request, old *record, reason Reason) (Assignment, error) {
	var prev *Assignment
	t := m.begin()
	defer t.end()
	if old != nil {
		a := old.assignment(Unchanged)
		prev = &a
		req.remember(old)
		t.release(old)
	}
	mark := t.mark()
	rec, err := m.place(&t, req)
	if err != nil {
		t.rollbackTo(mark) // the invalid old record stays released
		if old == nil {
			if m.log != nil {
				m.log.Debug("ipam: refused", "service", req.Key, "error", err)
			}
			return Assignment{}, err
		}
		if m.log != nil {
			m.log.Info("ipam: released", "service", req.Key, "pool", prev.Pool, "addrs", prev.Addrs,
				"reason", reason.String(), "error", err)
		}
		err = &wrapError{msg: fmt.Sprintf("%s (released %v: %s)", err, prev.Addrs, reason), err: err}
		return Assignment{Key: req.Key, Reason: Released, Previous: prev}, err
	}
	t.setRecord(req.Key, rec)
	a := rec.assignment(reason)
	a.Previous = prev
	if m.log != nil {
		m.logAssign(a)
	}
	return a, nil
}

func (m *Manager) logAssign(a Assignment) {
	if a.Previous == nil {
		m.log.Info("ipam: assigned", "service", a.Key, "pool", a.Pool, "addrs", a.Addrs)
		return
	}
	m.log.Info("ipam: reassigned", "service", a.Key, "pool", a.Pool, "addrs", a.Addrs,
		"reason", a.Reason.String(), "previous_pool", a.Previous.Pool, "previous_addrs", a.Previous.Addrs)
}

// recheck returns why the record r no longer fits req, or Unchanged.
func (m *Manager) recheck(r *record, req *request) Reason {
	p := r.pool
	switch {
	case p.dead:
		return PoolDeleted
	case slices.ContainsFunc(r.holders, func(h *holder) bool { return h.dead }):
		return AddrLeftPool
	case req.Pool != "" && req.Pool != p.name(),
		req.specific() && !r.holdsExactly(req),
		!req.Families.fits(r.has(IPv4), r.has(IPv6)):
		return RequestChanged
	case !p.selects(req):
		return NotSelected
	case slices.ContainsFunc(r.holders, func(h *holder) bool { return h.sharable(req) != "" }):
		return SharingChanged
	}
	return Unchanged
}

// holdsExactly reports whether r holds exactly the addresses req asks for.
func (r *record) holdsExactly(req *request) bool {
	return len(r.holders) == len(req.Addrs) && !slices.ContainsFunc(r.holders, func(h *holder) bool {
		return !slices.Contains(req.Addrs, h.addr)
	})
}

// refresh records req's ports, namespace and sharing key in r, which fits
// req.
func (m *Manager) refresh(r *record, req *request) {
	for _, h := range r.holders {
		h.join(req)
		if h.sharingKey != req.SharingKey { // h has no other user
			h.pool.rekey(h, req.SharingKey)
		}
	}
	r.sharingKey = req.SharingKey
}

// place assigns addresses to req's service within t.
func (m *Manager) place(t *tx, req *request) (*record, error) {
	if req.specific() {
		return m.placeAddrs(t, req, false)
	}
	return m.placeAuto(t, req)
}

// placeAddrs assigns the specific addresses of req; only a restore may
// take them from a disabled pool.
func (m *Manager) placeAddrs(t *tx, req *request, restore bool) (*record, error) {
	p, err := m.poolOf(req)
	if err != nil {
		return nil, err
	}
	if p.cfg.Disabled && !restore {
		return nil, refuse(req, p.name(), ErrDisabled, "")
	}
	rec := m.newRecord(req, p)
	take := t.take
	if restore {
		take = t.claim
	}
	for _, addr := range req.addrs {
		if !addr.IsValid() {
			continue
		}
		h, err := take(p, addr, req)
		if err != nil {
			return nil, err
		}
		rec.holders = append(rec.holders, h)
	}
	return rec, nil
}

// poolOf returns the pool holding the specific addresses of req, if it may
// serve req.
func (m *Manager) poolOf(req *request) (*pool, error) {
	var p *pool
	for _, addr := range req.Addrs {
		e := m.index.lookup(addr)
		if e == nil {
			return nil, refuse(req, req.Pool, ErrOutOfRange, "address %s is in no pool's usable ranges", addr)
		}
		if p != nil && e.pool != p {
			return nil, refuse(req, req.Pool, ErrNoPool, "addresses %v are in different pools %q and %q",
				req.Addrs, p.name(), e.pool.name())
		}
		p = e.pool
	}
	switch {
	case req.Pool != "" && req.Pool != p.name():
		return nil, refuse(req, req.Pool, ErrOutOfRange, "addresses %v are in pool %q", req.Addrs, p.name())
	case !p.selects(req):
		return nil, refuse(req, p.name(), ErrNoPool, "the pool holding %v does not select the service", req.Addrs)
	}
	return p, nil
}

// placeAuto assigns addresses chosen by the pools.
func (m *Manager) placeAuto(t *tx, req *request) (*record, error) {
	if req.Pool != "" {
		return m.placeNamed(t, req)
	}
	var tried, whys []string
	var errs joined
	for _, p := range m.candidates(req) {
		if p.cfg.Disabled || p.cfg.ManualOnly || !p.selects(req) {
			continue
		}
		mark := t.mark()
		rec, err := m.fill(t, p, req)
		if err == nil {
			return rec, nil
		}
		t.rollbackTo(mark)
		tried = append(tried, p.name())
		whys = append(whys, fmt.Sprintf("pool %q: %s", p.name(), bare(err)))
		errs = append(errs, err)
	}
	switch len(errs) {
	case 0:
		return nil, refuse(req, "", ErrNoPool, "no enabled pool selects the service")
	case 1:
		return nil, refuse(req, tried[0], errs[0], "")
	}
	return nil, &wrapError{
		msg: fmt.Sprintf("%sservice %q: no matching pool can serve it: %s", prefix, req.Key, strings.Join(whys, "; ")),
		err: errs,
	}
}

// candidates returns the pools that may select req, in the order they are
// tried: those the pool index finds, or every pool with scanPools.
func (m *Manager) candidates(req *request) []*pool {
	if m.scanPools {
		return m.order
	}
	if m.byLabel == nil {
		m.byLabel = newPoolIndex(m.order)
	}
	return m.byLabel.candidates(req)
}

// placeNamed assigns addresses from the pool named by req.
func (m *Manager) placeNamed(t *tx, req *request) (*record, error) {
	p, err := m.named(req)
	if err != nil {
		return nil, err
	}
	rec, err := m.fill(t, p, req)
	if err != nil {
		return nil, refuse(req, p.name(), err, "")
	}
	return rec, nil
}

// named returns the pool named by req, if it may serve req.
func (m *Manager) named(req *request) (*pool, error) {
	p := m.pools[req.Pool]
	switch {
	case p == nil:
		return nil, refuse(req, req.Pool, ErrNoPool, "no such pool")
	case p.cfg.Disabled:
		return nil, refuse(req, req.Pool, ErrDisabled, "")
	case !p.selects(req):
		return nil, refuse(req, req.Pool, ErrNoPool, "the pool does not select the service")
	}
	return p, nil
}

// fill assigns req's families from p, or fails.
func (m *Manager) fill(t *tx, p *pool, req *request) (*record, error) {
	fams, all := req.Families.families()
	rec := m.newRecord(req, p)
	var errs []error
	for _, f := range fams {
		h, err := t.allocate(p, f, req)
		if err != nil {
			if all {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		rec.holders = append(rec.holders, h)
	}
	if len(rec.holders) == 0 {
		return nil, joined(errs)
	}
	return rec, nil
}

// joined is a list of errors printed separated by "; ".
type joined []error

func (j joined) Error() string {
	s := make([]string, len(j))
	for i, e := range j {
		s[i] = bare(e)
	}
	return prefix + strings.Join(s, "; ")
}

func (j joined) Unwrap() []error { return j }

// refuse returns a refusal of req by the pool named pool ("" if none) with
// cause err and detail format.
func refuse(req *request, pool string, err error, format string, args ...any) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%sservice %q", prefix, req.Key)
	if pool != "" {
		fmt.Fprintf(&b, ", pool %q", pool)
	}
	if format != "" {
		fmt.Fprintf(&b, ": "+format, args...)
	}
	fmt.Fprintf(&b, ": %s", bare(err))
	return &wrapError{msg: b.String(), err: err}
}

// sharingError refuses addr to req because it is held by services req
// cannot share with.
func sharingError(req *request, p *pool, addr netip.Addr, why string) error {
	err := error(ErrInUse)
	if req.SharingKey != "" {
		err = joined{ErrInUse, ErrSharing}
	}
	return refuse(req, p.name(), err, "address %s is %s", addr, why)
}
