package bgp_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/internal/bird"
	"github.com/lbkit/lbkit/selector"
)

// TestPeerSelector: two routers, one with a Selector. Each gets the routes
// of the services its selector matches (the other every route), without
// lbkit's internal tags; changing the selector or a service's labels
// announces and withdraws the difference without resetting the session.
func TestPeerSelector(t *testing.T) {
	lo4b := netip.MustParseAddr("127.0.0.2")
	r1 := newTestRouter(t, lo4, routerASN, speakerAt(lo4))
	r2 := newTestRouter(t, lo4b, routerASN, speakerAt(lo4))
	s := newSpeaker(t, bgp.Config{Rules: []bgp.Rule{{Attributes: bgp.Attributes{LargeCommunities: []bgp.LargeCommunity{{65000, 1, 2}}}}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p1, p2 := routerPeer(r1), routerPeer(r2)
	p1.Selector = selector.MustParse("tier=gold")
	require.NoError(t, s.AddPeer(ctx, p1))
	require.NoError(t, s.AddPeer(ctx, p2))
	waitState(t, s, lo4, bgp.StateEstablished)
	waitState(t, s, lo4b, bgp.StateEstablished)

	require.NoError(t, s.Announce(ctx, svc("ns/gold", selector.Set{"tier": "gold"}, "10.0.0.1")))
	require.NoError(t, s.Announce(ctx, svc("ns/silver", selector.Set{"tier": "silver"}, "10.0.0.2")))
	got := waitRoutes(t, r1, "gold only", hasExactly("10.0.0.1/32"))
	assert.Equal(t, []string{"65000:1:2"}, got[netip.MustParsePrefix("10.0.0.1/32")].LargeCommunities, "no internal tag on the wire")
	waitRoutes(t, r2, "every route", hasExactly("10.0.0.1/32", "10.0.0.2/32"))
	assert.Eventually(t, func() bool {
		ps, err := s.Peers(ctx)
		return err == nil && len(ps) == 2 && ps[0].Sent == 1 && ps[1].Sent == 2
	}, 10*time.Second, 10*time.Millisecond, "Sent counts the peer's routes")

	events := s.Watch(ctx)
	p1.Selector = selector.MustParse("tier=silver")
	require.NoError(t, s.UpdatePeer(ctx, p1))
	waitRoutes(t, r1, "silver only", hasExactly("10.0.0.2/32"))

	require.NoError(t, s.Announce(ctx, svc("ns/gold", selector.Set{"tier": "silver"}, "10.0.0.1")))
	waitRoutes(t, r1, "both silver", hasExactly("10.0.0.1/32", "10.0.0.2/32"))
	require.NoError(t, s.Announce(ctx, svc("ns/silver", selector.Set{"tier": "bronze"}, "10.0.0.2")))
	waitRoutes(t, r1, "label flip withdraws", hasExactly("10.0.0.1/32"))

	p1.Selector = selector.Selector{}
	require.NoError(t, s.UpdatePeer(ctx, p1))
	waitRoutes(t, r1, "zero selector: every route", hasExactly("10.0.0.1/32", "10.0.0.2/32"))
	waitRoutes(t, r2, "the other peer unchanged", hasExactly("10.0.0.1/32", "10.0.0.2/32"))
	select {
	case ev := <-events:
		t.Fatalf("a session changed state: %+v", ev)
	default:
	}
	assert.True(t, routerPeerStatus(t, r1, lo4).Established())
}

// birdFrom returns a condition: BIRD holds exactly these prefixes from
// protocol proto.
func birdFrom(proto string, prefixes ...netip.Prefix) func([]bird.Route) bool {
	return func(rs []bird.Route) bool {
		var got []netip.Prefix
		for _, r := range rs {
			if r.Protocol == proto {
				got = append(got, r.Prefix)
			}
		}
		slices.SortFunc(got, netip.Prefix.Compare)
		want := slices.Clone(prefixes)
		slices.SortFunc(want, netip.Prefix.Compare)
		return slices.Equal(slices.Compact(got), want)
	}
}

// TestBIRDPeerSelector: two BIRD sessions (over IPv4 and over IPv6, both
// carrying IPv4 routes) with different selectors receive different
// routes; UpdatePeer swaps them without resetting either session.
func TestBIRDPeerSelector(t *testing.T) {
	n4, n6 := birdNeighbor("node4", nodeV4), birdNeighbor("node6", nodeV6)
	n6.IPv4 = true
	l := newBIRDLab(t, []bird.Neighbor{n4, n6}, nil)
	p4, p6 := speakerPeer(routerV4), speakerPeer(routerV6)
	p6.Families, p6.NextHopIPv4 = []bgp.Family{bgp.IPv4Unicast}, nodeV4
	l.speak.must(nodeRequest{Op: "addpeer", Peer: &p4, Selector: "tier=gold"})
	l.speak.must(nodeRequest{Op: "addpeer", Peer: &p6, Selector: "tier=silver"})
	l.bird.WaitEstablishedT(t, "node4")
	l.bird.WaitEstablishedT(t, "node6")

	gold, silver := host(deathstarV4), netip.MustParsePrefix("172.18.255.202/32")
	l.speak.must(nodeRequest{Op: "announce", Service: &announce.Service{Key: "ns/gold", Labels: selector.Set{"tier": "gold"}, Addrs: []netip.Addr{gold.Addr()}}})
	l.speak.must(nodeRequest{Op: "announce", Service: &announce.Service{Key: "ns/silver", Labels: selector.Set{"tier": "silver"}, Addrs: []netip.Addr{silver.Addr()}}})
	l.bird.WaitRoutesT(t, "gold to node4, silver to node6", func(rs []bird.Route) bool {
		return birdFrom("node4", gold)(rs) && birdFrom("node6", silver)(rs)
	})

	time.Sleep(1500 * time.Millisecond) // so that an uptime below 1 s after the update shows a reset
	l.speak.must(nodeRequest{Op: "updatepeer", Peer: &p4, Selector: "tier in (gold, silver)"})
	l.speak.must(nodeRequest{Op: "updatepeer", Peer: &p6, Selector: "tier=gold"})
	l.bird.WaitRoutesT(t, "both to node4, gold to node6", func(rs []bird.Route) bool {
		return birdFrom("node4", gold, silver)(rs) && birdFrom("node6", gold)(rs)
	})
	for _, p := range l.speak.must(nodeRequest{Op: "peers"}).Peers {
		assert.Equal(t, bgp.StateEstablished, p.State, "%v", p.Address)
		assert.GreaterOrEqual(t, p.Uptime, time.Second, "%v: the session was not reset", p.Address)
	}
}
