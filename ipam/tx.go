package ipam

import (
	"net/netip"
	"slices"
)

// A tx records how to undo the changes of one Assign, so that a refusal
// leaves the state as it was.
type tx struct {
	undo []func()
}

func (t *tx) mark() int { return len(t.undo) }

// rollbackTo undoes the changes made since mark.
func (t *tx) rollbackTo(mark int) {
	for i := len(t.undo) - 1; i >= mark; i-- {
		t.undo[i]()
	}
	t.undo = t.undo[:mark]
}

func (t *tx) rollback() { t.rollbackTo(0) }

// join adds req's service to h's users.
func (t *tx) join(h *holder, req *request) {
	prev := slices.Clone(h.users)
	h.join(req)
	t.undo = append(t.undo, func() { h.users = prev })
}

// hold registers addr, just allocated from p, as held by req's service.
func (t *tx) hold(p *pool, addr netip.Addr, req *request) *holder {
	h := p.newHolder(addr, req.SharingKey)
	t.undo = append(t.undo, func() {
		p.forget(h)
		_ = p.alloc.Release(addr)
	})
	t.join(h, req)
	return h
}

// take gives the specific address addr of p to req's service, sharing it
// if it is held.
func (t *tx) take(p *pool, addr netip.Addr, req *request) (*holder, error) {
	if h := p.holders[addr]; h != nil {
		if why := h.sharable(req); why != "" {
			return nil, sharingError(req, p, addr, why)
		}
		t.join(h, req)
		return h, nil
	}
	if err := p.alloc.AllocateAddr(addr); err != nil {
		return nil, refuse(req, p.name(), err, "address %s", addr)
	}
	return t.hold(p, addr, req), nil
}

// allocate gives req's service an address of family f from p: a shared one
// if possible, a free one otherwise.
func (t *tx) allocate(p *pool, f Family, req *request) (*holder, error) {
	if h := p.shared(req, f); h != nil {
		t.join(h, req)
		return h, nil
	}
	addr, err := p.alloc.Allocate(f)
	if err != nil {
		return nil, err
	}
	return t.hold(p, addr, req), nil
}

// release drops r: its service leaves every holder, holders left without
// users free their address, and the record goes.
func (t *tx) release(m *Manager, r *record) {
	for _, h := range r.holders {
		if h.dead {
			continue
		}
		prev := slices.Clone(h.users)
		h.leave(r.key)
		t.undo = append(t.undo, func() { h.users = prev })
		if len(h.users) == 0 {
			t.free(h)
		}
	}
	t.setRecord(m, r.key, nil)
}

// free returns h's address to its pool.
func (t *tx) free(h *holder) {
	p := h.pool
	_ = p.alloc.Release(h.addr)
	p.forget(h)
	t.undo = append(t.undo, func() {
		_ = p.alloc.AllocateAddr(h.addr)
		h.dead = false
		p.holders[h.addr] = h
		if h.sharingKey != "" {
			p.sharing[h.sharingKey] = append(p.sharing[h.sharingKey], h)
		}
	})
}

// setRecord sets (or, with a nil r, deletes) the record of key.
func (t *tx) setRecord(m *Manager, key string, r *record) {
	prev := m.records[key]
	m.setRecord(key, prev, r)
	t.undo = append(t.undo, func() { m.setRecord(key, r, prev) })
}

// setRecord replaces the record old of key by r (nil: none), keeping pool
// service counts.
func (m *Manager) setRecord(key string, old, r *record) {
	if old != nil && !old.pool.dead {
		old.pool.users--
	}
	if r == nil {
		delete(m.records, key)
		return
	}
	m.records[key] = r
	r.pool.users++
}
