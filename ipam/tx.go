package ipam

import "net/netip"

// A tx records how to undo the changes of one Assign, so that a refusal
// leaves the state as it was. Its log is reused across calls (the Manager
// is locked), so recording costs no allocation.
type tx struct {
	m     *Manager
	ops   []undo
	freed []*holder // holders whose address was freed, reusable once committed
}

type undoKind uint8

const (
	undoHold   undoKind = iota // h was registered: forget it and free its address
	undoJoin                   // key joined h: remove it, restore u if had
	undoLeave                  // u left h: add it back
	undoFree                   // h's address was freed: take it again
	undoRecord                 // the record of key was set to cur: set prev back
)

type undo struct {
	kind      undoKind
	had       bool
	h         *holder
	u         user
	key       string
	prev, cur *record
}

// begin starts a transaction on m.
func (m *Manager) begin() tx { return tx{m: m, ops: m.txlog[:0], freed: m.txfreed[:0]} }

// end finishes t, keeping its log for reuse. Holders freed by a committed
// transaction (not rolled back) are kept for reuse: nothing refers to them
// any more.
func (t *tx) end() {
	clear(t.ops)
	t.m.txlog = t.ops[:0]
	for _, h := range t.freed {
		if h.dead && len(t.m.spare) < maxSpare {
			*h = holder{}
			t.m.spare = append(t.m.spare, h)
		}
	}
	clear(t.freed)
	t.m.txfreed = t.freed[:0]
}

// maxSpare bounds the number of holders kept for reuse.
const maxSpare = 64

func (t *tx) mark() int { return len(t.ops) }

// rollbackTo undoes the changes made since mark.
func (t *tx) rollbackTo(mark int) {
	for i := len(t.ops) - 1; i >= mark; i-- {
		t.ops[i].apply(t.m)
	}
	clear(t.ops[mark:])
	t.ops = t.ops[:mark]
}

func (t *tx) rollback() { t.rollbackTo(0) }

func (o *undo) apply(m *Manager) {
	h := o.h
	switch o.kind {
	case undoHold:
		h.pool.forget(h)
		_ = h.pool.alloc.Release(h.addr)
	case undoJoin:
		h.leave(o.key)
		if o.had {
			h.users = append(h.users, o.u)
		}
	case undoLeave:
		h.users = append(h.users, o.u)
	case undoFree:
		_ = h.pool.alloc.AllocateAddr(h.addr)
		h.pool.register(h)
	case undoRecord:
		m.setRecord(o.key, o.cur, o.prev)
	}
}

// join adds req's service to h's users.
func (t *tx) join(h *holder, req *request) {
	prev, had := h.join(req)
	t.ops = append(t.ops, undo{kind: undoJoin, h: h, key: req.Key, u: prev, had: had})
}

// hold registers addr, just allocated from p, as held by req's service.
func (t *tx) hold(p *pool, addr netip.Addr, req *request) *holder {
	h := t.m.newHolder()
	h.addr, h.pool, h.sharingKey = addr, p, req.SharingKey
	h.users = h.first[:0]
	p.register(h)
	t.ops = append(t.ops, undo{kind: undoHold, h: h})
	t.join(h, req)
	return h
}

// take gives the specific address addr of p to req's service, sharing it
// if it is held.
func (t *tx) take(p *pool, addr netip.Addr, req *request) (*holder, error) {
	if h, err := t.joinHolder(p, addr, req); h != nil || err != nil {
		return h, err
	}
	if err := p.alloc.AllocateAddr(addr); err != nil {
		return nil, refuse(req, p.name(), err, "address %s", addr)
	}
	return t.hold(p, addr, req), nil
}

// joinHolder adds req's service to the users of the holder of addr in p
// and returns it, or returns an error if it may not share it, or nil, nil
// if p does not hold addr.
func (t *tx) joinHolder(p *pool, addr netip.Addr, req *request) (*holder, error) {
	h := p.holders[addr]
	if h == nil {
		return nil, nil
	}
	if why := h.sharable(req); why != "" {
		return nil, sharingError(req, p, addr, why)
	}
	t.join(h, req)
	return h, nil
}

// allocate gives req's service an address of family f from p: the one it
// held there before this Assign if that is still possible, else a shared
// one if possible, else a free one.
func (t *tx) allocate(p *pool, f Family, req *request) (*holder, error) {
	if addr := req.kept(p, f); addr.IsValid() {
		if h, err := t.take(p, addr, req); err == nil {
			return h, nil
		}
	}
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
func (t *tx) release(r *record) {
	for _, h := range r.holders {
		if h.dead {
			continue
		}
		if u, ok := h.leave(r.key); ok {
			t.ops = append(t.ops, undo{kind: undoLeave, h: h, u: u})
		}
		if len(h.users) == 0 {
			_ = h.pool.alloc.Release(h.addr)
			h.pool.forget(h)
			t.ops = append(t.ops, undo{kind: undoFree, h: h})
			t.freed = append(t.freed, h)
		}
	}
	t.setRecord(r.key, nil)
}

// setRecord sets (or, with a nil r, deletes) the record of key.
func (t *tx) setRecord(key string, r *record) {
	prev := t.m.records[key]
	t.m.setRecord(key, prev, r)
	t.ops = append(t.ops, undo{kind: undoRecord, key: key, prev: prev, cur: r})
}

// addRecord sets the record of key, which has none, to r.
func (t *tx) addRecord(key string, r *record) {
	t.m.setRecord(key, nil, r)
	t.ops = append(t.ops, undo{kind: undoRecord, key: key, cur: r})
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

// newHolder returns a zero holder, reused if possible.
func (m *Manager) newHolder() *holder {
	if n := len(m.spare); n > 0 {
		h := m.spare[n-1]
		m.spare = m.spare[:n-1]
		return h
	}
	if n := len(m.holderSlab); n < cap(m.holderSlab) {
		m.holderSlab = m.holderSlab[:n+1]
		return &m.holderSlab[n]
	}
	return new(holder)
}
