package ipam

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// A holder is an address held by one or more services (several when they
// share it).
type holder struct {
	addr       netip.Addr
	pool       *pool
	sharingKey string
	users      []user
	first      [1]user // backing array of users while there is one
	dead       bool    // no longer in the pool: released by a pool change
}

// A user is one service holding an address.
type user struct {
	key, namespace string
	ports          []Port
}

// sharable returns why req (whose service is not counted among the users)
// cannot share h, or "" if it can.
func (h *holder) sharable(req *request) string {
	for _, u := range h.users {
		if u.key == req.Key {
			continue
		}
		switch {
		case h.sharingKey == "":
			return fmt.Sprintf("held by %s, which does not share", h.userKeys())
		case req.SharingKey != h.sharingKey:
			return fmt.Sprintf("held by %s with sharing key %q", h.userKeys(), h.sharingKey)
		case u.namespace != req.namespace && !h.pool.cfg.AllowCrossNamespaceSharing:
			return fmt.Sprintf("held by %q of another namespace and pool %q does not allow cross-namespace sharing",
				u.key, h.pool.name())
		}
		for _, p := range req.Ports {
			if slices.Contains(u.ports, p) {
				return fmt.Sprintf("port %v collides with %q", p, u.key)
			}
		}
	}
	return ""
}

// userKeys lists the keys of h's users, quoted.
func (h *holder) userKeys() string {
	keys := make([]string, len(h.users))
	for i, u := range h.users {
		keys[i] = fmt.Sprintf("%q", u.key)
	}
	return strings.Join(keys, ", ")
}

// join adds req's service to h's users, replacing its previous entry,
// which it returns.
func (h *holder) join(req *request) (prev user, had bool) {
	u := user{key: req.Key, namespace: req.namespace, ports: req.Ports}
	for i := range h.users {
		if h.users[i].key == req.Key {
			prev, h.users[i] = h.users[i], u
			return prev, true
		}
	}
	h.users = append(h.users, u)
	return user{}, false
}

// leave removes key from h's users and returns its entry.
func (h *holder) leave(key string) (user, bool) {
	for i, u := range h.users {
		if u.key == key {
			h.users = slices.Delete(h.users, i, i+1)
			return u, true
		}
	}
	return user{}, false
}

// register records h, whose address is allocated in p's allocator, as held.
func (p *pool) register(h *holder) {
	h.dead = false
	p.holders[h.addr] = h
	if h.sharingKey != "" {
		p.sharing[h.sharingKey] = append(p.sharing[h.sharingKey], h)
	}
}

// forget unregisters h from p without touching the allocator, and marks it
// dead.
func (p *pool) forget(h *holder) {
	delete(p.holders, h.addr)
	p.unshare(h)
	h.dead = true
}

// unshare removes h from p's sharing index.
func (p *pool) unshare(h *holder) {
	if h.sharingKey == "" {
		return
	}
	hs := slices.DeleteFunc(p.sharing[h.sharingKey], func(x *holder) bool { return x == h })
	if len(hs) == 0 {
		delete(p.sharing, h.sharingKey)
	} else {
		p.sharing[h.sharingKey] = hs
	}
}

// rekey changes the sharing key of h, which has at most one user.
func (p *pool) rekey(h *holder, key string) {
	p.unshare(h)
	h.sharingKey = key
	if key != "" {
		p.sharing[key] = append(p.sharing[key], h)
	}
}

// shared returns a live holder of family f in p that req may share, or nil.
func (p *pool) shared(req *request, f Family) *holder {
	if req.SharingKey == "" {
		return nil
	}
	for _, h := range p.sharing[req.SharingKey] {
		if FamilyOf(h.addr) == f && h.sharable(req) == "" {
			return h
		}
	}
	return nil
}
