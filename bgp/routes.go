package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/internal/keyset"
	"github.com/lbkit/lbkit/selector"
)

// routeState is what the speaker announces: services and the routes they
// make. Several services may share a route (the same address, or the same
// aggregate); a route is announced while any service holds it, with the
// attributes of the service with the smallest key.
type routeState struct {
	services map[string]*service
	routes   map[netip.Prefix]*route
	counts   [IPv6Unicast + 1]uint64 // announced routes (sent != nil) per family
	// selective are the peers with a Selector, by address. A route meant
	// for such a peer carries its tag, a large community that the export
	// policy matches and removes (see policy.go).
	selective map[netip.Addr]selectivePeer
	tagCounts map[uint32]*[IPv6Unicast + 1]uint64 // announced routes per tag and family
	nextTag   uint32
}

type selectivePeer struct {
	sel selector.Selector
	tag uint32
}

// tagASN is the global administrator of the tags: AS 4294967295 is
// reserved (RFC 7300), so no real large community uses it.
const tagASN = 1<<32 - 1

// tagsFor returns the tags of the selective peers whose selector matches
// labels.
func (rs *routeState) tagsFor(labels selector.Labels) []LargeCommunity {
	var out []LargeCommunity
	for _, sp := range rs.selective {
		if sp.sel.Matches(labels) {
			out = append(out, LargeCommunity{ASN: tagASN, Local1: sp.tag})
		}
	}
	return out
}

// countSent adjusts the per-family and per-tag counts of announced routes
// for route p moving from old to new attributes (nil: not announced).
func (rs *routeState) countSent(p netip.Prefix, old, new *attrs) {
	f := familyOf(p.Addr())
	for _, x := range []struct {
		a     *attrs
		delta uint64
	}{{old, ^uint64(0)}, {new, 1}} {
		if x.a == nil {
			continue
		}
		rs.counts[f] += x.delta
		for _, c := range x.a.large {
			if c.ASN != tagASN {
				continue
			}
			n := rs.tagCounts[c.Local1]
			if n == nil {
				n = new3()
				rs.tagCounts[c.Local1] = n
			}
			n[f] += x.delta
		}
	}
}

func new3() *[IPv6Unicast + 1]uint64 { return new([IPv6Unicast + 1]uint64) }

type service struct {
	labels   selector.Labels
	prefixes []netip.Prefix // sorted, unique
	attrs    attrs
	native   []bgp.PathAttributeInterface // attrs in GoBGP's form
}

type route struct {
	keys keyset.Set // services holding the route
	sent *attrs     // attributes given to GoBGP; nil when not announced
}

func newRouteState() routeState {
	return routeState{services: make(map[string]*service), routes: make(map[netip.Prefix]*route),
		selective: make(map[netip.Addr]selectivePeer), tagCounts: make(map[uint32]*[IPv6Unicast + 1]uint64)}
}

// Announce makes the speaker announce exactly s.Addrs for s.Key: a /32 per
// IPv4 and a /128 per IPv6 address (or their aggregates), with the
// attributes of the Rules matching s.Labels. Addresses dropped since the
// last call are withdrawn. IPv4-mapped IPv6 addresses count as IPv4. An
// empty key or an invalid address returns ErrInvalidService and changes
// nothing.
//
// Announce and Withdraw return once the change is queued for GoBGP; the
// speaker hands the changes of many calls to GoBGP at once, in the order
// of the calls, so that routes travel many to an UPDATE message.
func (s *Speaker) Announce(ctx context.Context, svc announce.Service) error {
	prefixes, err := s.prefixesOf(svc)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	a := s.attrsOf(svc.Labels)
	var old []netip.Prefix
	if o := s.services[svc.Key]; o != nil {
		old = o.prefixes
	}
	s.services[svc.Key] = &service{labels: svc.Labels, prefixes: prefixes, attrs: a, native: a.native()}
	var b batch
	for _, p := range old {
		if _, found := slices.BinarySearchFunc(prefixes, p, netip.Prefix.Compare); !found {
			s.release(p, svc.Key)
			s.sync(&b, p)
		}
	}
	for _, p := range prefixes {
		s.hold(p, svc.Key)
		s.sync(&b, p)
	}
	return s.send(&b)
}

// Withdraw withdraws every route of key. Withdrawing an unknown key is not
// an error.
func (s *Speaker) Withdraw(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	svc := s.services[key]
	if svc == nil {
		return nil
	}
	delete(s.services, key)
	var b batch
	for _, p := range svc.prefixes {
		s.release(p, key)
		s.sync(&b, p)
	}
	return s.send(&b)
}

// attrsOf returns the attributes of a service with labels: those of the
// rules, plus the tags of the selective peers it goes to. mu is held.
func (s *Speaker) attrsOf(labels selector.Labels) attrs {
	a := attrsFor(s.rules, labels)
	if tags := s.tagsFor(labels); len(tags) > 0 {
		a.large = append(a.large, tags...)
		a.normalize()
	}
	return a
}

// retag recomputes every service's attributes after the selective peers
// changed and re-announces the routes whose attributes changed. mu is
// held.
func (s *Speaker) retag() error {
	var b batch
	for _, svc := range s.services {
		a := s.attrsOf(svc.labels)
		if a.equal(svc.attrs) {
			continue
		}
		svc.attrs, svc.native = a, a.native()
		for _, p := range svc.prefixes {
			s.sync(&b, p)
		}
	}
	return s.send(&b)
}

// prefixesOf validates svc and returns its routes, sorted and unique.
func (s *Speaker) prefixesOf(svc announce.Service) ([]netip.Prefix, error) {
	if svc.Key == "" {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidService)
	}
	out := make([]netip.Prefix, 0, len(svc.Addrs))
	for _, a := range svc.Addrs {
		a = a.Unmap()
		if !a.IsValid() || a.IsUnspecified() || a.Zone() != "" {
			return nil, fmt.Errorf("%w %q: address %v cannot be announced", ErrInvalidService, svc.Key, a)
		}
		bits := a.BitLen()
		if a.Is4() && s.cfg.AggregateIPv4 != 0 {
			bits = s.cfg.AggregateIPv4
		} else if a.Is6() && s.cfg.AggregateIPv6 != 0 {
			bits = s.cfg.AggregateIPv6
		}
		out = append(out, netip.PrefixFrom(a, bits).Masked())
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return slices.Compact(out), nil
}

func (s *Speaker) hold(p netip.Prefix, key string) {
	r := s.routes[p]
	if r == nil {
		r = &route{}
		s.routes[p] = r
	}
	r.keys = r.keys.Add(key)
}

func (s *Speaker) release(p netip.Prefix, key string) {
	r := s.routes[p]
	if r == nil {
		return
	}
	r.keys = r.keys.Remove(key)
}

// A batch collects the changes of one call, which reach GoBGP in one
// AddPath and one DeletePath: GoBGP queues all of them for its senders
// before they run, so they pack the routes into few UPDATE messages.
type batch struct {
	add     []*apiutil.Path
	added   []*route // the routes of add, in order
	addPfx  []netip.Prefix
	addWant []attrs
	del     []*apiutil.Path
	deleted []netip.Prefix
}

// sync adds to b what makes GoBGP's view of route p match the state:
// announced with the owner's attributes, or withdrawn and forgotten.
func (s *Speaker) sync(b *batch, p netip.Prefix) {
	r := s.routes[p]
	if r == nil {
		return
	}
	ownerKey, held := r.keys.Owner()
	if !held {
		if r.sent == nil {
			delete(s.routes, p)
			return
		}
		b.del = append(b.del, encodePath(p, nil, true))
		b.deleted = append(b.deleted, p)
		return
	}
	owner := s.services[ownerKey]
	if r.sent != nil && r.sent.equal(owner.attrs) {
		return
	}
	b.add = append(b.add, encodePath(p, owner.native, false))
	b.added = append(b.added, r)
	b.addPfx = append(b.addPfx, p)
	b.addWant = append(b.addWant, owner.attrs)
}

// send hands b to GoBGP and records what GoBGP took. A route GoBGP refused
// keeps its old state, so the next call for it tries again.
func (s *Speaker) send(b *batch) error {
	ops := make([]pathOp, 0, len(b.del)+len(b.add))
	for i, p := range b.deleted {
		if r := s.routes[p]; r != nil && r.sent != nil {
			if _, held := r.keys.Owner(); !held {
				delete(s.routes, p)
				s.countSent(p, r.sent, nil)
			}
		}
		ops = append(ops, pathOp{withdraw: true, path: b.del[i]})
	}
	for i, r := range b.added {
		s.countSent(b.addPfx[i], r.sent, &b.addWant[i])
		r.sent = &b.addWant[i]
		ops = append(ops, pathOp{path: b.add[i]})
	}
	s.enqueue(ops...)
	return nil
}

// withdrawAll withdraws every route at once. Called with mu held, on Close.
func (s *Speaker) withdrawAll() error {
	var errs []error
	for _, f := range []bgp.Family{bgp.RF_IPv4_UC, bgp.RF_IPv6_UC} {
		if err := s.srv.DeletePath(apiutil.DeletePathRequest{DeleteAll: true, DeleteFamily: &f}); err != nil {
			errs = append(errs, fmt.Errorf("bgp: withdraw all: %w", err))
		}
	}
	sel := s.selective
	s.routeState = newRouteState()
	s.selective = sel
	return errors.Join(errs...)
}
