package bgp_test

import (
	"context"

	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/bgp/bgptest"
	"github.com/lbkit/lbkit/internal/freeport"
)

// newTestRouter starts a bgptest.Router playing the upstream router on
// addr (loopback), on a free port, with neighbor p: by default it waits
// for the speaker to connect.
func newTestRouter(t testing.TB, addr netip.Addr, asn uint32, p bgptest.Peer) *bgptest.Router {
	t.Helper()
	r, err := bgptest.NewRouter(context.Background(), bgptest.Config{
		ASN: asn, RouterID: netip.MustParseAddr("10.255.255.1"), ListenAddr: addr,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	require.NoError(t, r.AddPeer(context.Background(), p))
	return r
}

// speakerAt is the router's neighbor: the speaker at addr.
func speakerAt(addr netip.Addr) bgptest.Peer {
	return bgptest.Peer{Address: addr, ASN: speakerASN}
}

// routerPeer returns the speaker-side Peer for r.
func routerPeer(r *bgptest.Router) bgp.Peer {
	return bgp.Peer{Address: r.Addr(), ASN: r.ASN(), Port: r.Port(), ConnectRetry: time.Second}
}

// freeTCPPort returns a TCP port that was free on addr a moment ago.
func freeTCPPort(t testing.TB, addr netip.Addr) uint16 {
	t.Helper()
	port, err := freeport.TCP(addr)
	require.NoError(t, err)
	return port
}

// routeMap indexes routes by prefix.
func routeMap(rts []bgptest.Route) map[netip.Prefix]bgptest.Route {
	m := make(map[netip.Prefix]bgptest.Route, len(rts))
	for _, rt := range rts {
		m[rt.Prefix] = rt
	}
	return m
}

// routes returns the router's table.
func routes(t testing.TB, r *bgptest.Router) map[netip.Prefix]bgptest.Route {
	t.Helper()
	rts, err := r.Routes(context.Background())
	require.NoError(t, err)
	return routeMap(rts)
}

// waitRoutes waits until cond holds for the router's routes, and returns
// them; it fails t after 20 s.
func waitRoutes(t testing.TB, r *bgptest.Router, what string, cond func(map[netip.Prefix]bgptest.Route) bool) map[netip.Prefix]bgptest.Route {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rts, err := r.WaitRoutes(ctx, func(rts []bgptest.Route) bool { return cond(routeMap(rts)) })
	if err != nil {
		t.Fatalf("router never got %s: %v", what, err)
	}
	return routeMap(rts)
}

// hasExactly returns a condition: the router holds exactly prefixes.
func hasExactly(prefixes ...string) func(map[netip.Prefix]bgptest.Route) bool {
	return func(m map[netip.Prefix]bgptest.Route) bool {
		if len(m) != len(prefixes) {
			return false
		}
		for _, p := range prefixes {
			if _, ok := m[netip.MustParsePrefix(p)]; !ok {
				return false
			}
		}
		return true
	}
}

// routerPeerStatus returns the router's view of its session to addr.
func routerPeerStatus(t testing.TB, r *bgptest.Router, addr netip.Addr) bgptest.PeerStatus {
	t.Helper()
	ps, err := r.Peers(context.Background())
	require.NoError(t, err)
	i := slices.IndexFunc(ps, func(p bgptest.PeerStatus) bool { return p.Address == addr })
	require.GreaterOrEqual(t, i, 0, "router has no neighbor %v", addr)
	return ps[i]
}

// waitState waits until the speaker reports peer addr in state st.
func waitState(t testing.TB, s *bgp.Speaker, addr netip.Addr, st bgp.PeerState) bgp.PeerStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps, err := s.Peers(context.Background())
		require.NoError(t, err)
		i := slices.IndexFunc(ps, func(p bgp.PeerStatus) bool { return p.Address == addr })
		if i >= 0 && ps[i].State == st {
			return ps[i]
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer %v never reached %v: %+v", addr, st, ps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
