package bgp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"
	"github.com/stretchr/testify/require"
)

// testRouter is a plain GoBGP server playing the upstream router on
// loopback: it listens on an unprivileged port and waits for the speaker
// (its neighbors are passive).
type testRouter struct {
	srv  *server.BgpServer
	addr netip.Addr
	port uint16
	asn  uint32
}

// freePort returns a TCP port that was free on addr a moment ago.
func freePort(t testing.TB, addr netip.Addr) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	require.NoError(t, err)
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func newTestRouter(t testing.TB, addr netip.Addr, asn uint32) *testRouter {
	t.Helper()
	r := &testRouter{srv: server.NewBgpServer(server.LoggerOption(newSlogLogger(nil))), addr: addr, asn: asn}
	go r.srv.Serve()
	var err error
	for range 5 { // the free port may be taken again in between
		r.port = freePort(t, addr)
		err = startServer(context.Background(), r.srv, &api.StartBgpRequest{Global: &api.Global{
			Asn: asn, RouterId: "10.255.255.1", ListenPort: int32(r.port), ListenAddresses: []string{addr.String()},
		}})
		if err == nil {
			break
		}
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = stopServer(r.srv) })
	return r
}

// addNeighbor configures the speaker's session on the router side.
func (r *testRouter) addNeighbor(t testing.TB, addr netip.Addr, asn uint32, mod func(*api.Peer)) {
	t.Helper()
	p := &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: addr.String(), PeerAsn: asn},
		Transport: &api.Transport{PassiveMode: true},
		Timers:    &api.Timers{Config: &api.TimersConfig{ConnectRetry: 1, IdleHoldTimeAfterReset: 1}},
		AfiSafis: []*api.AfiSafi{
			{Config: &api.AfiSafiConfig{Family: familyV4, Enabled: true}},
			{Config: &api.AfiSafiConfig{Family: familyV6, Enabled: true}},
		},
	}
	if mod != nil {
		mod(p)
	}
	require.NoError(t, r.srv.AddPeer(context.Background(), &api.AddPeerRequest{Peer: p}))
}

// peer returns the speaker-side Peer for this router.
func (r *testRouter) peer() Peer {
	return Peer{Address: r.addr, ASN: r.asn, Port: r.port, ConnectRetry: time.Second}
}

// seenRoute is a route as the router holds it.
type seenRoute struct {
	NextHop     netip.Addr
	Communities []string
	Large       []string
	MED         *uint32
	LocalPref   *uint32
	ASPath      string
}

// routes returns the router's global RIB.
func (r *testRouter) routes(t testing.TB) map[netip.Prefix]seenRoute {
	t.Helper()
	out := map[netip.Prefix]seenRoute{}
	for _, f := range []*api.Family{familyV4, familyV6} {
		err := r.srv.ListPath(context.Background(), &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: f}, func(d *api.Destination) {
			for _, p := range d.Paths {
				if !p.Best {
					continue
				}
				pfx := netip.MustParsePrefix(d.Prefix)
				out[pfx] = decodeSeen(t, p)
			}
		})
		require.NoError(t, err)
	}
	return out
}

func decodeSeen(t testing.TB, p *api.Path) seenRoute {
	attrs, err := apiutil.GetNativePathAttributes(p)
	require.NoError(t, err)
	var s seenRoute
	for _, a := range attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeNextHop:
			s.NextHop, _ = netip.AddrFromSlice(a.Value)
		case *bgp.PathAttributeMpReachNLRI:
			s.NextHop, _ = netip.AddrFromSlice(a.Nexthop)
		case *bgp.PathAttributeCommunities:
			for _, c := range a.Value {
				s.Communities = append(s.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
			}
		case *bgp.PathAttributeLargeCommunities:
			for _, c := range a.Values {
				s.Large = append(s.Large, c.String())
			}
		case *bgp.PathAttributeMultiExitDisc:
			v := a.Value
			s.MED = &v
		case *bgp.PathAttributeLocalPref:
			v := a.Value
			s.LocalPref = &v
		case *bgp.PathAttributeAsPath:
			s.ASPath = a.String()
		}
	}
	s.NextHop = s.NextHop.Unmap()
	if s.NextHop.Is4In6() {
		s.NextHop = s.NextHop.Unmap()
	}
	return s
}

// waitRoutes polls the router until cond holds for its routes, and returns
// them; it fails t after 20 s.
func (r *testRouter) waitRoutes(t testing.TB, what string, cond func(map[netip.Prefix]seenRoute) bool) map[netip.Prefix]seenRoute {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := r.routes(t)
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("router never got %s; has %v", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hasExactly returns a condition: the router holds exactly prefixes.
func hasExactly(prefixes ...string) func(map[netip.Prefix]seenRoute) bool {
	return func(m map[netip.Prefix]seenRoute) bool {
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

// waitState waits until the speaker reports peer addr in state st.
func waitState(t testing.TB, s *Speaker, addr netip.Addr, st PeerState) PeerStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps, err := s.Peers(context.Background())
		require.NoError(t, err)
		i := slices.IndexFunc(ps, func(p PeerStatus) bool { return p.Address == addr })
		if i >= 0 && ps[i].State == st {
			return ps[i]
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer %v never reached %v: %+v", addr, st, ps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
