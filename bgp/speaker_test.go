package bgp_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/bgp/bgptest"
	"github.com/lbkit/lbkit/selector"
)

var (
	lo4 = netip.MustParseAddr("127.0.0.1")
	lo6 = netip.MustParseAddr("::1")
)

const (
	routerASN  = 65000
	speakerASN = 65001
)

func newSpeaker(t testing.TB, cfg bgp.Config) *bgp.Speaker {
	t.Helper()
	if cfg.ASN == 0 {
		cfg.ASN = speakerASN
	}
	if !cfg.RouterID.IsValid() {
		cfg.RouterID = netip.MustParseAddr("10.255.255.2")
	}
	s, err := bgp.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// session returns a speaker and a router with an established session over
// loopback, the speaker's peer set up by mod.
func session(t testing.TB, cfg bgp.Config, mod func(*bgp.Peer)) (*bgp.Speaker, *bgptest.Router) {
	t.Helper()
	r := newTestRouter(t, lo4, routerASN, speakerAt(lo4))
	s := newSpeaker(t, cfg)
	p := routerPeer(r)
	if mod != nil {
		mod(&p)
	}
	require.NoError(t, s.AddPeer(context.Background(), p))
	waitState(t, s, p.Address, bgp.StateEstablished)
	return s, r
}

func svc(key string, labels selector.Set, addrs ...string) announce.Service {
	s := announce.Service{Key: key, Labels: labels}
	for _, a := range addrs {
		s.Addrs = append(s.Addrs, netip.MustParseAddr(a))
	}
	return s
}

func u32(v uint32) *uint32 { return &v }

// dualStack makes p carry both families, IPv6 routes with next hop nh6.
func dualStack(p bgp.Peer, nh6 netip.Addr) bgp.Peer {
	p.Families = []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}
	p.NextHopIPv6 = nh6
	return p
}

func TestNewInvalidConfig(t *testing.T) {
	rid := netip.MustParseAddr("10.0.0.1")
	tests := []struct {
		name string
		cfg  bgp.Config
		want error
	}{
		{"asn 0", bgp.Config{RouterID: rid}, bgp.ErrInvalidConfig},
		{"no router id", bgp.Config{ASN: 1}, bgp.ErrInvalidConfig},
		{"v6 router id", bgp.Config{ASN: 1, RouterID: netip.MustParseAddr("2001:db8::1")}, bgp.ErrInvalidConfig},
		{"zero router id", bgp.Config{ASN: 1, RouterID: netip.IPv4Unspecified()}, bgp.ErrInvalidConfig},
		{"port without Listen", bgp.Config{ASN: 1, RouterID: rid, ListenPort: 1179}, bgp.ErrInvalidConfig},
		{"aggregate v4", bgp.Config{ASN: 1, RouterID: rid, AggregateIPv4: 33}, bgp.ErrInvalidConfig},
		{"aggregate v6", bgp.Config{ASN: 1, RouterID: rid, AggregateIPv6: -1}, bgp.ErrInvalidConfig},
		{"listen addr", bgp.Config{ASN: 1, RouterID: rid, ListenAddrs: []netip.Addr{{}}}, bgp.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := bgp.New(context.Background(), tt.cfg)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, s)
		})
	}
}

func TestPeerValidation(t *testing.T) {
	s := newSpeaker(t, bgp.Config{})
	ctx := context.Background()
	good := bgp.Peer{Address: netip.MustParseAddr("10.9.9.9"), ASN: 65000, Passive: true}
	require.NoError(t, s.AddPeer(ctx, good))

	bad := []struct {
		name string
		mod  func(*bgp.Peer)
	}{
		{"no address", func(p *bgp.Peer) { p.Address = netip.Addr{} }},
		{"asn 0", func(p *bgp.Peer) { p.ASN = 0 }},
		{"v6 over v4 without next hop", func(p *bgp.Peer) { p.Families = []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast} }},
		{"unknown family", func(p *bgp.Peer) { p.Families = []bgp.Family{7} }},
		{"family twice", func(p *bgp.Peer) { p.Families = []bgp.Family{bgp.IPv4Unicast, bgp.IPv4Unicast} }},
		{"local address family", func(p *bgp.Peer) { p.LocalAddress = lo6 }},
		{"v4 next hop not v4", func(p *bgp.Peer) { p.NextHopIPv4 = lo6 }},
		{"hold time", func(p *bgp.Peer) { p.HoldTime = time.Second }},
		{"keepalive >= hold", func(p *bgp.Peer) { p.HoldTime, p.KeepaliveTime = 9*time.Second, 9*time.Second }},
		{"fractional", func(p *bgp.Peer) { p.ConnectRetry = 1500 * time.Millisecond }},
		{"restart time", func(p *bgp.Peer) { p.RestartTime = time.Hour * 2 }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			p.Address = netip.MustParseAddr("10.9.9.10")
			tt.mod(&p)
			assert.ErrorIs(t, s.AddPeer(ctx, p), bgp.ErrInvalidPeer)
			p.Address = good.Address
			if p.Address.IsValid() && tt.name != "no address" {
				assert.ErrorIs(t, s.UpdatePeer(ctx, p), bgp.ErrInvalidPeer)
			}
		})
	}
	assert.ErrorIs(t, s.AddPeer(ctx, good), bgp.ErrPeerExists)
	unknown := good
	unknown.Address = netip.MustParseAddr("10.9.9.11")
	assert.ErrorIs(t, s.UpdatePeer(ctx, unknown), bgp.ErrUnknownPeer)
	assert.ErrorIs(t, s.RemovePeer(ctx, unknown.Address), bgp.ErrUnknownPeer)

	ps, err := s.Peers(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 1, "failed calls changed nothing")
	assert.Equal(t, good.Address, ps[0].Address)
	assert.Equal(t, uint32(65000), ps[0].ASN)

	require.NoError(t, s.RemovePeer(ctx, good.Address))
	ps, err = s.Peers(ctx)
	require.NoError(t, err)
	assert.Empty(t, ps)
}

func TestAnnounceUpdateWithdraw(t *testing.T) {
	nh6 := netip.MustParseAddr("2001:db8:ffff::2")
	s, r := session(t, bgp.Config{}, func(p *bgp.Peer) {
		p.Families = []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}
		p.NextHopIPv6 = nh6
	})
	ctx := context.Background()

	require.NoError(t, s.Announce(ctx, svc("batuu/deathstar", nil, "172.18.255.201", "2001:db8:dead:beef::111")))
	got := waitRoutes(t, r, "both host routes", hasExactly("172.18.255.201/32", "2001:db8:dead:beef::111/128"))
	assert.Equal(t, lo4, got[netip.MustParsePrefix("172.18.255.201/32")].NextHop, "IPv4 next hop is the session's local address")
	assert.Equal(t, nh6, got[netip.MustParsePrefix("2001:db8:dead:beef::111/128")].NextHop, "explicit IPv6 next hop")
	assert.Contains(t, got[netip.MustParsePrefix("172.18.255.201/32")].ASPath, uint32(65001))

	// Idempotent upsert: the same call again changes nothing; a new list
	// replaces the old one.
	require.NoError(t, s.Announce(ctx, svc("batuu/deathstar", nil, "172.18.255.201", "2001:db8:dead:beef::111")))
	require.NoError(t, s.Announce(ctx, svc("batuu/deathstar", nil, "172.18.255.202", "::ffff:172.18.255.203")))
	waitRoutes(t, r, "the updated addresses", hasExactly("172.18.255.202/32", "172.18.255.203/32"))

	// Bad input: error, nothing changes.
	assert.ErrorIs(t, s.Announce(ctx, svc("", nil, "172.18.255.204")), bgp.ErrInvalidService)
	assert.ErrorIs(t, s.Announce(ctx, announce.Service{Key: "batuu/deathstar", Addrs: []netip.Addr{{}}}), bgp.ErrInvalidService)
	assert.ErrorIs(t, s.Announce(ctx, svc("batuu/deathstar", nil, "0.0.0.0")), bgp.ErrInvalidService)
	assert.ErrorIs(t, s.Announce(ctx, svc("batuu/deathstar", nil, "fe80::1%eth0")), bgp.ErrInvalidService)

	require.NoError(t, s.Withdraw(ctx, "batuu/deathstar"))
	require.NoError(t, s.Withdraw(ctx, "batuu/deathstar"), "withdrawing twice is fine")
	require.NoError(t, s.Withdraw(ctx, "no/such"), "withdrawing an unknown key is fine")
	waitRoutes(t, r, "no routes", hasExactly())

	st := waitState(t, s, lo4, bgp.StateEstablished)
	assert.Zero(t, st.Sent)
}

func TestIPv6SessionCarriesIPv4(t *testing.T) {
	r := newTestRouter(t, lo6, routerASN, speakerAt(lo6))
	s := newSpeaker(t, bgp.Config{})
	p := routerPeer(r)
	p.Families = []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}
	p.NextHopIPv4 = netip.MustParseAddr("10.20.30.40")
	require.NoError(t, s.AddPeer(context.Background(), p))
	waitState(t, s, lo6, bgp.StateEstablished)

	require.NoError(t, s.Announce(context.Background(), svc("a/b", nil, "172.18.255.201", "2001:db8:dead:beef::111")))
	got := waitRoutes(t, r, "both routes", hasExactly("172.18.255.201/32", "2001:db8:dead:beef::111/128"))
	assert.Equal(t, p.NextHopIPv4, got[netip.MustParsePrefix("172.18.255.201/32")].NextHop)
	assert.Equal(t, lo6, got[netip.MustParsePrefix("2001:db8:dead:beef::111/128")].NextHop)
}

func TestRulesAttributes(t *testing.T) {
	// iBGP, so that LOCAL_PREF is sent.
	r := newTestRouter(t, lo4, speakerASN, speakerAt(lo4))
	s := newSpeaker(t, bgp.Config{Rules: []bgp.Rule{
		{Selector: selector.MustParse("announced=bgp"), Attributes: bgp.Attributes{
			Communities: []bgp.Community{bgp.MustParseCommunity("65000:100"), bgp.NoExport}, LargeCommunities: []bgp.LargeCommunity{{65000, 1, 1}}, LocalPref: u32(200),
		}},
		{Selector: selector.MustParse("tier=gold"), Attributes: bgp.Attributes{
			Communities: []bgp.Community{bgp.CommunityFrom(65000, 200), bgp.CommunityFrom(65000, 100)}, MED: u32(5), LocalPref: u32(300),
		}},
	}})
	require.NoError(t, s.AddPeer(context.Background(), routerPeer(r)))
	waitState(t, s, lo4, bgp.StateEstablished)
	ctx := context.Background()
	host := netip.MustParsePrefix("172.18.255.201/32")

	require.NoError(t, s.Announce(ctx, svc("a/plain", nil, "172.18.255.201")))
	got := waitRoutes(t, r, "plain route", hasExactly("172.18.255.201/32"))[host]
	assert.Empty(t, got.Communities)
	assert.Nil(t, got.MED)
	require.NotNil(t, got.LocalPref)
	assert.Equal(t, uint32(100), *got.LocalPref, "GoBGP's default local preference")

	require.NoError(t, s.Announce(ctx, svc("a/plain", selector.Set{"announced": "bgp", "tier": "gold"}, "172.18.255.201")))
	got = waitRoutes(t, r, "attributes", func(m map[netip.Prefix]bgptest.Route) bool { return len(m[host].Communities) == 3 })[host]
	assert.Equal(t, []string{"65000:100", "65000:200", "65535:65281"}, got.Communities, "union, sorted, no-export included")
	assert.Equal(t, []string{"65000:1:1"}, got.LargeCommunities)
	require.NotNil(t, got.MED)
	assert.Equal(t, uint32(5), *got.MED)
	require.NotNil(t, got.LocalPref)
	assert.Equal(t, uint32(200), *got.LocalPref, "first matching rule wins")

	// Labels change: attributes follow.
	require.NoError(t, s.Announce(ctx, svc("a/plain", selector.Set{"tier": "gold"}, "172.18.255.201")))
	got = waitRoutes(t, r, "new attributes", func(m map[netip.Prefix]bgptest.Route) bool { return len(m[host].Communities) == 2 })[host]
	assert.Equal(t, []string{"65000:100", "65000:200"}, got.Communities)
	assert.Empty(t, got.LargeCommunities)
	assert.Equal(t, uint32(300), *got.LocalPref)
}

func TestSharedAndAggregatedRoutes(t *testing.T) {
	s, r := session(t, bgp.Config{AggregateIPv4: 24, AggregateIPv6: 64}, func(p *bgp.Peer) {
		*p = dualStack(*p, netip.MustParseAddr("2001:db8:ffff::2"))
	})
	ctx := context.Background()
	require.NoError(t, s.Announce(ctx, svc("a/one", nil, "172.18.255.201", "2001:db8:dead:beef::111")))
	require.NoError(t, s.Announce(ctx, svc("a/two", nil, "172.18.255.202", "2001:db8:dead:beef::222", "2001:db8:dead:cafe::1")))
	waitRoutes(t, r, "the aggregates", hasExactly("172.18.255.0/24", "2001:db8:dead:beef::/64", "2001:db8:dead:cafe::/64"))
	require.NoError(t, s.Withdraw(ctx, "a/two"))
	waitRoutes(t, r, "the aggregates a/one still holds", hasExactly("172.18.255.0/24", "2001:db8:dead:beef::/64"))
	require.NoError(t, s.Withdraw(ctx, "a/one"))
	waitRoutes(t, r, "nothing", hasExactly())
}

func TestConcurrentAnnounce(t *testing.T) {
	s, r := session(t, bgp.Config{}, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("ns/svc-%d-%d", g, i%10)
				addr := fmt.Sprintf("10.%d.%d.%d", g, i%10, i)
				assert.NoError(t, s.Announce(ctx, svc(key, nil, addr)))
				if i%3 == 0 {
					assert.NoError(t, s.Withdraw(ctx, key))
				}
			}
		})
	}
	wg.Wait()
	// Each key's last call is known: i = 40..49 announce 10.g.k.(40+k),
	// and the withdrawals at i = 42, 45, 48 removed keys 2, 5, 8.
	var want []string
	for g := range 8 {
		for k := range 10 {
			if k != 2 && k != 5 && k != 8 {
				want = append(want, fmt.Sprintf("10.%d.%d.%d/32", g, k, 40+k))
			}
		}
	}
	waitRoutes(t, r, "the final state", hasExactly(want...))
}

func TestSharedHostRouteAttributes(t *testing.T) {
	s, r := session(t, bgp.Config{Rules: []bgp.Rule{
		{Selector: selector.MustParse("c=a"), Attributes: bgp.Attributes{Communities: []bgp.Community{bgp.CommunityFrom(1, 1)}}},
		{Selector: selector.MustParse("c=b"), Attributes: bgp.Attributes{Communities: []bgp.Community{bgp.CommunityFrom(2, 2)}}},
	}}, nil)
	ctx := context.Background()
	host := netip.MustParsePrefix("172.18.255.201/32")
	require.NoError(t, s.Announce(ctx, svc("ns/b", selector.Set{"c": "b"}, "172.18.255.201")))
	waitRoutes(t, r, "b's community", func(m map[netip.Prefix]bgptest.Route) bool {
		return len(m[host].Communities) == 1 && m[host].Communities[0] == "2:2"
	})
	require.NoError(t, s.Announce(ctx, svc("ns/a", selector.Set{"c": "a"}, "172.18.255.201")))
	waitRoutes(t, r, "a's community (smallest key)", func(m map[netip.Prefix]bgptest.Route) bool {
		return len(m[host].Communities) == 1 && m[host].Communities[0] == "1:1"
	})
	require.NoError(t, s.Withdraw(ctx, "ns/a"))
	waitRoutes(t, r, "b's community again", func(m map[netip.Prefix]bgptest.Route) bool {
		return len(m[host].Communities) == 1 && m[host].Communities[0] == "2:2"
	})
}

func TestSelectLabelFlip(t *testing.T) {
	s, r := session(t, bgp.Config{}, nil)
	ctx := context.Background()
	a := announce.Select(selector.MustParse("announced=bgp"), s)

	ds := svc("batuu/deathstar", selector.Set{"org": "empire"}, "172.18.255.201")
	require.NoError(t, a.Announce(ctx, ds))
	time.Sleep(200 * time.Millisecond)
	assert.Empty(t, routes(t, r), "not labelled announced=bgp: nothing announced")

	ds.Labels = selector.Set{"org": "empire", "announced": "bgp"}
	require.NoError(t, a.Announce(ctx, ds))
	waitRoutes(t, r, "the labelled service", hasExactly("172.18.255.201/32"))

	ds.Labels = selector.Set{"org": "empire"}
	require.NoError(t, a.Announce(ctx, ds))
	waitRoutes(t, r, "withdrawal after the label went", hasExactly())
}

func TestPeerResetReadvertises(t *testing.T) {
	s, r := session(t, bgp.Config{}, nil)
	ctx := context.Background()
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201", "172.18.255.202")))
	waitRoutes(t, r, "routes", hasExactly("172.18.255.201/32", "172.18.255.202/32"))

	require.NoError(t, r.ResetPeer(ctx, lo4))
	waitRoutes(t, r, "routes gone with the session", hasExactly())
	waitRoutes(t, r, "routes re-advertised after reconnect", hasExactly("172.18.255.201/32", "172.18.255.202/32"))
	st := waitState(t, s, lo4, bgp.StateEstablished)
	assert.Equal(t, uint64(2), st.Sent)
}

func TestNextHopUpdateInPlace(t *testing.T) {
	p := bgp.Peer{}
	s, r := session(t, bgp.Config{}, func(q *bgp.Peer) {
		q.Families = []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}
		q.NextHopIPv6 = netip.MustParseAddr("2001:db8:ffff::2")
		p = *q
	})
	ctx := context.Background()
	v6 := netip.MustParsePrefix("2001:db8:dead:beef::111/128")
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "2001:db8:dead:beef::111")))
	waitRoutes(t, r, "route", hasExactly(v6.String()))

	p.NextHopIPv6 = netip.MustParseAddr("2001:db8:ffff::3")
	require.NoError(t, s.UpdatePeer(ctx, p))
	waitRoutes(t, r, "new next hop", func(m map[netip.Prefix]bgptest.Route) bool { return m[v6].NextHop == p.NextHopIPv6 })

	// Any other change restarts the session, which comes back.
	p.HoldTime = 30 * time.Second
	require.NoError(t, s.UpdatePeer(ctx, p))
	waitState(t, s, lo4, bgp.StateEstablished)
	waitRoutes(t, r, "route after session restart", func(m map[netip.Prefix]bgptest.Route) bool { return m[v6].NextHop == p.NextHopIPv6 })
}

func TestCloseWithdrawsAndIsIdempotent(t *testing.T) {
	s, r := session(t, bgp.Config{}, func(p *bgp.Peer) { p.GracefulRestart = true })
	ctx := context.Background()
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201")))
	waitRoutes(t, r, "route", hasExactly("172.18.255.201/32"))

	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "second Close")
	waitRoutes(t, r, "no routes after Close", hasExactly())

	assert.ErrorIs(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201")), bgp.ErrClosed)
	assert.ErrorIs(t, s.Withdraw(ctx, "a/b"), bgp.ErrClosed)
	assert.ErrorIs(t, s.AddPeer(ctx, bgp.Peer{Address: lo4, ASN: 1}), bgp.ErrClosed)
	_, err := s.Peers(ctx)
	assert.ErrorIs(t, err, bgp.ErrClosed)
	_, open := <-s.Watch(ctx)
	assert.False(t, open, "Watch after Close returns a closed channel")
}

// TestCloseGraceful checks graceful restart from the router's side: the
// router (a GoBGP helper) keeps the routes as stale after CloseGraceful,
// and a new speaker refreshes them.
func TestCloseGraceful(t *testing.T) {
	r := newTestRouter(t, lo4, routerASN, bgptest.Peer{Address: lo4, ASN: speakerASN, GracefulRestart: true})
	p := routerPeer(r)
	p.GracefulRestart = true
	p.RestartTime = 60 * time.Second
	ctx := context.Background()

	s := newSpeaker(t, bgp.Config{})
	require.NoError(t, s.AddPeer(ctx, p))
	waitState(t, s, lo4, bgp.StateEstablished)
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201")))
	waitRoutes(t, r, "route", hasExactly("172.18.255.201/32"))

	require.NoError(t, s.CloseGraceful())
	require.NoError(t, s.Close(), "Close after CloseGraceful")
	// The router notices the session is gone, and keeps the route.
	waitRouterState(t, r, lo4, func(st bgptest.PeerStatus) bool { return !st.Established() })
	time.Sleep(500 * time.Millisecond)
	host := netip.MustParsePrefix("172.18.255.201/32")
	assert.True(t, routes(t, r)[host].Stale, "route kept as stale: no CEASE was sent")
	assert.Contains(t, routes(t, r), host)

	// A new speaker takes over.
	s2 := newSpeaker(t, bgp.Config{})
	require.NoError(t, s2.AddPeer(ctx, p))
	require.NoError(t, s2.Announce(ctx, svc("a/b", nil, "172.18.255.201")))
	waitState(t, s2, lo4, bgp.StateEstablished)
	waitRoutes(t, r, "refreshed route", hasExactly("172.18.255.201/32"))
}

func waitRouterState(t testing.TB, r *bgptest.Router, addr netip.Addr, ok func(bgptest.PeerStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := routerPeerStatus(t, r, addr)
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("router's session to %v stuck in %v", addr, st.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPassiveListener: the router dials the speaker, which listens on an
// unprivileged port; multihop and timers are set.
func TestPassiveListener(t *testing.T) {
	port := freeTCPPort(t, lo4)
	s := newSpeaker(t, bgp.Config{Listen: true, ListenPort: port, ListenAddrs: []netip.Addr{lo4}})
	r := newTestRouter(t, lo4, routerASN, bgptest.Peer{Address: lo4, ASN: speakerASN, Active: true, Port: port, EBGPMultihop: 2})
	ctx := context.Background()
	require.NoError(t, s.AddPeer(ctx, bgp.Peer{
		Address: lo4, ASN: routerASN, Passive: true, EBGPMultihop: 2,
		HoldTime: 9 * time.Second, KeepaliveTime: 3 * time.Second, LocalAddress: lo4,
	}))
	waitState(t, s, lo4, bgp.StateEstablished)
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201")))
	waitRoutes(t, r, "route over the accepted session", hasExactly("172.18.255.201/32"))
	assert.Equal(t, 9*time.Second, routerPeerStatus(t, r, lo4).HoldTime, "our hold time was negotiated")
}

func TestPeerValidationLocalAddressV6(t *testing.T) {
	s := newSpeaker(t, bgp.Config{})
	ctx := context.Background()
	for _, local := range []string{"::ffff:10.0.0.1", "fe80::1%lo"} {
		t.Run(local, func(t *testing.T) {
			p := bgp.Peer{Address: netip.MustParseAddr("2001:db8:77::1"), ASN: 65000, Passive: true, LocalAddress: netip.MustParseAddr(local)}
			assert.ErrorIs(t, s.AddPeer(ctx, p), bgp.ErrInvalidPeer)
			assert.ErrorIs(t, s.RemovePeer(ctx, p.Address), bgp.ErrUnknownPeer, "nothing half-applied")
		})
	}
}

// TestReconnectAfterRouterRestart: when the router goes away and comes
// back on the same address and port, the speaker reconnects within its
// connect-retry bound (first attempt 1.5–2 s after the session ends, then
// every ConnectRetry, here 1 s), not after GoBGP's fixed 5 s idle hold.
func TestReconnectAfterRouterRestart(t *testing.T) {
	r := newTestRouter(t, lo4, routerASN, speakerAt(lo4))
	s := newSpeaker(t, bgp.Config{})
	ctx := context.Background()
	p := routerPeer(r)
	require.NoError(t, s.AddPeer(ctx, p))
	waitState(t, s, lo4, bgp.StateEstablished)
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201")))
	waitRoutes(t, r, "route", hasExactly("172.18.255.201/32"))

	require.NoError(t, r.Close())
	waitState(t, s, lo4, bgp.StateActive)
	r2, err := bgptest.NewRouter(ctx, bgptest.Config{ASN: routerASN, RouterID: netip.MustParseAddr("10.255.255.1"), ListenAddr: lo4, ListenPort: p.Port})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r2.Close() })
	require.NoError(t, r2.AddPeer(ctx, speakerAt(lo4)))
	start := time.Now()
	waitRoutes(t, r2, "route after the router's restart", hasExactly("172.18.255.201/32"))
	took := time.Since(start)
	t.Logf("reconnected and re-announced %v after the router came back", took)
	assert.Less(t, took, 5*time.Second, "within the connect-retry bound, not after a 5 s idle hold plus 1.5–2 s")
}

// TestCancelledContext: a call whose context is done changes nothing.
func TestCancelledContext(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := bgp.New(done, bgp.Config{ASN: speakerASN, RouterID: netip.MustParseAddr("10.255.255.2")})
	assert.ErrorIs(t, err, context.Canceled)

	s := newSpeaker(t, bgp.Config{})
	p := bgp.Peer{Address: netip.MustParseAddr("127.0.0.9"), ASN: routerASN}
	assert.ErrorIs(t, s.AddPeer(done, p), context.Canceled)
	assert.ErrorIs(t, s.Announce(done, svc("a/b", nil, "10.0.0.1")), context.Canceled)
	ctx := context.Background()
	ps, err := s.Peers(ctx)
	require.NoError(t, err)
	assert.Empty(t, ps, "no peer added")
	require.NoError(t, s.AddPeer(ctx, p))
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "10.0.0.1")))
	assert.ErrorIs(t, s.UpdatePeer(done, p), context.Canceled)
	assert.ErrorIs(t, s.RemovePeer(done, p.Address), context.Canceled)
	assert.ErrorIs(t, s.Withdraw(done, "a/b"), context.Canceled)
	_, err = s.Peers(done)
	assert.ErrorIs(t, err, context.Canceled)
	ps, err = s.Peers(ctx)
	require.NoError(t, err)
	assert.Len(t, ps, 1, "the peer stays")
	assert.True(t, s.HasService("a/b"), "the service stays")
}
