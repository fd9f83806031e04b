package bgptest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// A Route is the best path for a prefix in the router's table.
type Route struct {
	Prefix netip.Prefix
	// NextHop is the route's next hop. An IPv4 route's next hop is an IPv4
	// address; an IPv6 route's is reported as received, so that an
	// IPv4-mapped IPv6 next hop (which routers do not install) shows.
	NextHop netip.Addr
	// From is the address of the neighbor the route came from.
	From netip.Addr
	// Communities are the route's communities as "ASN:value", in the
	// order received (well-known ones numerically: no-export is
	// "65535:65281").
	Communities []string
	// LargeCommunities are the route's large communities as
	// "global:local1:local2", in the order received.
	LargeCommunities []string
	// MED and LocalPref are nil when the route has no such attribute.
	MED, LocalPref *uint32
	// ASPath lists the AS numbers of the route's AS path, nearest first
	// (the members of an AS_SET in the order received).
	ASPath []uint32
	// Stale reports whether the router keeps the route for a neighbor
	// that is restarting (graceful restart). GoBGP v4.8 reads the flag
	// without the lock under which a session's end sets it: read Routes
	// after the router reports the session down (Peers), not while it
	// goes down, or the race detector may report GoBGP.
	Stale bool
}

// String returns the route as "prefix via next-hop", followed by its AS
// path and any other attributes, such as
// "172.18.255.201/32 via 127.0.0.1 as-path [65001] communities [65000:100]".
func (rt Route) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v via %v as-path %v", rt.Prefix, rt.NextHop, rt.ASPath)
	if len(rt.Communities) > 0 {
		fmt.Fprintf(&b, " communities %v", rt.Communities)
	}
	if len(rt.LargeCommunities) > 0 {
		fmt.Fprintf(&b, " large-communities %v", rt.LargeCommunities)
	}
	if rt.MED != nil {
		fmt.Fprintf(&b, " med %d", *rt.MED)
	}
	if rt.LocalPref != nil {
		fmt.Fprintf(&b, " local-pref %d", *rt.LocalPref)
	}
	if rt.Stale {
		b.WriteString(" stale")
	}
	return b.String()
}

// Routes returns the best path of every prefix in the router's table, IPv4
// and IPv6 unicast, sorted by prefix (IPv4 first).
func (r *Router) Routes(ctx context.Context) ([]Route, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bgptest: routes: %w", err)
	}
	var out []Route
	var bad error
	collect := func(nlri bgp.NLRI, paths []*apiutil.Path) {
		for _, p := range paths {
			if !p.Best {
				continue
			}
			rt, err := decodeRoute(nlri, p)
			if err != nil {
				bad = errors.Join(bad, err)
				continue
			}
			out = append(out, rt)
		}
	}
	err := r.use(func() error {
		for _, f := range []bgp.Family{bgp.RF_IPv4_UC, bgp.RF_IPv6_UC} {
			req := apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: f}
			if err := r.srv.ListPath(req, collect); err != nil {
				return err
			}
		}
		return nil
	})
	if err = errors.Join(err, bad); err != nil {
		return nil, fmt.Errorf("bgptest: routes: %w", err)
	}
	slices.SortFunc(out, func(a, b Route) int { return comparePrefix(a.Prefix, b.Prefix) })
	return out, nil
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

func decodeRoute(nlri bgp.NLRI, p *apiutil.Path) (Route, error) {
	n, ok := nlri.(*bgp.IPAddrPrefix)
	if !ok {
		return Route{}, fmt.Errorf("unexpected NLRI %v (%T)", nlri, nlri)
	}
	rt := Route{Prefix: n.Prefix, Stale: p.Stale, From: p.PeerAddress}
	for _, a := range p.Attrs {
		rt.decodeAttr(a)
	}
	if rt.Prefix.Addr().Is4() {
		rt.NextHop = rt.NextHop.Unmap()
	}
	return rt, nil
}

func (rt *Route) decodeAttr(a bgp.PathAttributeInterface) {
	switch a := a.(type) {
	case *bgp.PathAttributeNextHop:
		rt.NextHop = a.Value
	case *bgp.PathAttributeMpReachNLRI:
		rt.NextHop = a.Nexthop
	case *bgp.PathAttributeCommunities:
		for _, c := range a.Value {
			rt.Communities = append(rt.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
		}
	case *bgp.PathAttributeLargeCommunities:
		for _, c := range a.Values {
			rt.LargeCommunities = append(rt.LargeCommunities, fmt.Sprintf("%d:%d:%d", c.ASN, c.LocalData1, c.LocalData2))
		}
	case *bgp.PathAttributeMultiExitDisc:
		med := a.Value
		rt.MED = &med
	case *bgp.PathAttributeLocalPref:
		pref := a.Value
		rt.LocalPref = &pref
	case *bgp.PathAttributeAsPath:
		for _, seg := range a.Value {
			rt.ASPath = append(rt.ASPath, seg.GetAS()...)
		}
	}
}

// Lookup returns the route for dst: of the routes whose prefix contains
// dst, the one with the longest prefix. It reports false if there is none.
func (r *Router) Lookup(ctx context.Context, dst netip.Addr) (Route, bool, error) {
	rts, err := r.Routes(ctx)
	if err != nil {
		return Route{}, false, err
	}
	best, found := Route{}, false
	for _, rt := range rts {
		if rt.Prefix.Contains(dst) && (!found || rt.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = rt, true
		}
	}
	return best, found, nil
}

// pollInterval is how often WaitRoutes reads the table.
const pollInterval = 10 * time.Millisecond

// WaitRoutes reads the router's table until cond reports true for its
// routes (as Routes returns them), and returns those routes. If ctx ends
// first, it returns the last routes read and an error wrapping ctx's error
// and listing those routes; if the router is closed, ErrClosed.
func (r *Router) WaitRoutes(ctx context.Context, cond func([]Route) bool) ([]Route, error) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	var last []Route
	for {
		rts, err := r.Routes(ctx)
		switch {
		case errors.Is(err, ErrClosed):
			return nil, err
		case err == nil && cond(rts):
			return rts, nil
		case err == nil:
			last = rts
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("bgptest: waiting for routes (router holds %v): %w", last, ctx.Err())
		case <-t.C:
		}
	}
}
