package main

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/lbkit/lbkit/bgp/bgptest"
)

// routerID is the default mode's router's BGP identifier.
var routerID = netip.MustParseAddr("10.255.0.1")

// startLoopRouter starts the default mode's upstream router: a
// bgptest.Router (an in-process GoBGP server) with AS asn on addr, a
// loopback address, and an unprivileged port, waiting for a session from
// the node's speaker, AS nodeASN at addr.
func startLoopRouter(ctx context.Context, addr netip.Addr, asn, nodeASN uint32) (*bgptest.Router, error) {
	r, err := bgptest.NewRouter(ctx, bgptest.Config{ASN: asn, RouterID: routerID, ListenAddr: addr})
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	if err := r.AddPeer(ctx, bgptest.Peer{Address: addr, ASN: nodeASN}); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("router: %w", err)
	}
	return r, nil
}

// waitTable waits until ok holds for the router's table (its best routes,
// sorted by prefix), for at most waitRoutes.
func waitTable(ctx context.Context, r *bgptest.Router, ok func([]bgptest.Route) bool) ([]bgptest.Route, error) {
	ctx, cancel := context.WithTimeout(ctx, waitRoutes)
	defer cancel()
	return r.WaitRoutes(ctx, ok)
}

// prefixes returns the routes' prefixes, sorted by address.
func prefixes(rts []bgptest.Route) []netip.Prefix {
	out := make([]netip.Prefix, len(rts))
	for i, rt := range rts {
		out[i] = rt.Prefix
	}
	return out
}
