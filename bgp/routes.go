package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	api "github.com/osrg/gobgp/v3/api"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/internal/keyset"
)

// routeState is what the speaker announces: services and the routes they
// make. Several services may share a route (the same address, or the same
// aggregate); a route is announced while any service holds it, with the
// attributes of the service with the smallest key.
type routeState struct {
	services map[string]*service
	routes   map[netip.Prefix]*route
}

type service struct {
	prefixes []netip.Prefix // sorted, unique
	attrs    attrs
	wire     [][]byte // attrs serialized
}

type route struct {
	keys keyset.Set // services holding the route
	sent *attrs     // attributes given to GoBGP; nil when not announced
}

func newRouteState() routeState {
	return routeState{services: make(map[string]*service), routes: make(map[netip.Prefix]*route)}
}

// Announce makes the speaker announce exactly s.Addrs for s.Key: a /32 per
// IPv4 and a /128 per IPv6 address (or their aggregates), with the
// attributes of the Rules matching s.Labels. Addresses dropped since the
// last call are withdrawn. IPv4-mapped IPv6 addresses count as IPv4. An
// empty key or an invalid address returns ErrInvalidService and changes
// nothing.
func (s *Speaker) Announce(ctx context.Context, svc announce.Service) error {
	prefixes, err := s.prefixesOf(svc)
	if err != nil {
		return err
	}
	a := attrsFor(s.rules, svc.Labels)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var old []netip.Prefix
	if o := s.services[svc.Key]; o != nil {
		old = o.prefixes
	}
	s.services[svc.Key] = &service{prefixes: prefixes, attrs: a, wire: a.wire()}
	var errs []error
	for _, p := range old {
		if _, found := slices.BinarySearchFunc(prefixes, p, netip.Prefix.Compare); !found {
			s.release(p, svc.Key)
			errs = append(errs, s.sync(ctx, p))
		}
	}
	for _, p := range prefixes {
		s.hold(p, svc.Key)
		errs = append(errs, s.sync(ctx, p))
	}
	return errors.Join(errs...)
}

// Withdraw withdraws every route of key. Withdrawing an unknown key is not
// an error.
func (s *Speaker) Withdraw(ctx context.Context, key string) error {
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
	var errs []error
	for _, p := range svc.prefixes {
		s.release(p, key)
		errs = append(errs, s.sync(ctx, p))
	}
	return errors.Join(errs...)
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

// sync makes GoBGP's view of route p match the state: announced with the
// owner's attributes, or withdrawn and forgotten.
func (s *Speaker) sync(ctx context.Context, p netip.Prefix) error {
	r := s.routes[p]
	if r == nil {
		return nil
	}
	ownerKey, held := r.keys.Owner()
	if !held {
		if r.sent != nil {
			if err := s.srv.DeletePath(ctx, &api.DeletePathRequest{
				TableType: api.TableType_GLOBAL, Family: apiFamily(p.Addr()), Path: encodePath(p, nil, true),
			}); err != nil {
				return fmt.Errorf("bgp: withdraw %v: %w", p, err)
			}
		}
		delete(s.routes, p)
		return nil
	}
	owner := s.services[ownerKey]
	want := owner.attrs
	if r.sent != nil && r.sent.equal(want) {
		return nil
	}
	if _, err := s.srv.AddPath(ctx, &api.AddPathRequest{
		TableType: api.TableType_GLOBAL, Path: encodePath(p, owner.wire, false),
	}); err != nil {
		return fmt.Errorf("bgp: announce %v: %w", p, err)
	}
	r.sent = &want
	return nil
}

// withdrawAll withdraws every route at once. Called with mu held, on Close.
func (s *Speaker) withdrawAll() error {
	var errs []error
	for _, f := range []*api.Family{familyV4, familyV6} {
		if err := s.srv.DeletePath(context.Background(), &api.DeletePathRequest{
			TableType: api.TableType_GLOBAL, Family: f,
		}); err != nil {
			errs = append(errs, fmt.Errorf("bgp: withdraw all: %w", err))
		}
	}
	s.routeState = newRouteState()
	return errors.Join(errs...)
}
