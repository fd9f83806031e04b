package bgp_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/internal/bird"
	"github.com/lbkit/lbkit/internal/netns"
	"github.com/lbkit/lbkit/selector"
)

// The BIRD lab: a router namespace running BIRD and a node namespace
// running the speaker (in a re-executed test binary), linked by a veth.
var (
	routerV4 = netip.MustParseAddr("10.213.0.1")
	nodeV4   = netip.MustParseAddr("10.213.0.2")
	routerV6 = netip.MustParseAddr("2001:db8:213::1")
	nodeV6   = netip.MustParseAddr("2001:db8:213::2")
	nodeV6b  = netip.MustParseAddr("2001:db8:213::3") // a second node address, for LocalAddress

	deathstarV4 = netip.MustParseAddr("172.18.255.201")
	deathstarV6 = netip.MustParseAddr("2001:db8:dead:beef::111")
)

type birdLab struct {
	router *netns.NS
	node   *netns.NS
	bird   *bird.Router
	speak  *nodeProc
}

// newBIRDLab builds the lab with BIRD neighbors ns (exporting to the
// router's kernel) and a speaker with rules, but no peers yet.
func newBIRDLab(t testing.TB, neighbors []bird.Neighbor, rules []nodeRule) *birdLab {
	t.Helper()
	l := newBIRDNet(t, neighbors)
	l.speak = startNode(t, l.node, nodeConfig{ASN: speakerASN, RouterID: nodeV4, Rules: rules})
	return l
}

// newBIRDNet builds the lab without a speaker.
func newBIRDNet(t testing.TB, neighbors []bird.Neighbor) *birdLab {
	t.Helper()
	bird.RequireT(t)
	l := &birdLab{router: netns.NewT(t, "lbkrt"), node: netns.NewT(t, "lbknd")}
	netns.VethT(t, l.router, "eth0", l.node, "eth0")
	for _, a := range []struct {
		ns   *netns.NS
		cidr string
	}{{l.router, "10.213.0.1/30"}, {l.router, "2001:db8:213::1/64"}, {l.node, "10.213.0.2/30"}, {l.node, "2001:db8:213::2/64"}} {
		require.NoError(t, a.ns.Addr("eth0", a.cidr))
	}
	l.bird = bird.StartT(t, l.router, bird.Config{RouterID: routerV4, ASN: routerASN, Kernel: true, Neighbors: neighbors})
	return l
}

func birdNeighbor(name string, addr netip.Addr) bird.Neighbor {
	return bird.Neighbor{Name: name, Address: addr, ASN: speakerASN}
}

func speakerPeer(addr netip.Addr) bgp.Peer {
	return bgp.Peer{Address: addr, ASN: routerASN, ConnectRetry: time.Second}
}

// birdHas returns a condition: BIRD's routes include exactly these
// prefixes (learned over BGP).
func birdHas(prefixes ...netip.Prefix) func([]bird.Route) bool {
	return func(rs []bird.Route) bool {
		var got []netip.Prefix
		for _, r := range rs {
			if r.Protocol != "kernel4" && r.Protocol != "kernel6" {
				got = append(got, r.Prefix)
			}
		}
		slices.SortFunc(got, netip.Prefix.Compare)
		got = slices.Compact(got)
		want := slices.Clone(prefixes)
		slices.SortFunc(want, netip.Prefix.Compare)
		return slices.Equal(got, want)
	}
}

// newMultiprotocolLab returns a lab whose BIRD neighbor name carries both
// families over IPv4, and the matching speaker peer (not yet added).
func newMultiprotocolLab(t *testing.T, name string) (*birdLab, bgp.Peer) {
	t.Helper()
	n := birdNeighbor(name, nodeV4)
	n.IPv4, n.IPv6 = true, true
	l := newBIRDLab(t, []bird.Neighbor{n}, nil)
	return l, dualStack(speakerPeer(routerV4), nodeV6)
}

func host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

func routeFor(rs []bird.Route, p netip.Prefix) bird.Route {
	for _, r := range rs {
		if r.Prefix == p {
			return r
		}
	}
	return bird.Route{}
}

// kernelRoute returns `ip route show <addr>` in the router namespace.
func (l *birdLab) kernelRoute(t *testing.T, a netip.Addr) string {
	t.Helper()
	args := []string{"route", "show", a.String()}
	if a.Is6() {
		args = append([]string{"-6"}, args...)
	}
	return strings.TrimSpace(l.router.MustRun(t, "ip", args...))
}

func (l *birdLab) waitKernel(t *testing.T, a netip.Addr, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := l.kernelRoute(t, a)
		if (want == "" && got == "") || (want != "" && strings.Contains(got, want)) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("router kernel route for %v: got %q, want %q", a, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var deathstar = announce.Service{
	Key:    "batuu/deathstar",
	Labels: selector.Set{"org": "empire", "announced": "bgp"},
	Addrs:  []netip.Addr{deathstarV4, deathstarV6},
}

// TestBIRDInterop: IPv4 and IPv6 sessions to BIRD; host routes with the
// right next hops and communities in BIRD and in the router's kernel;
// withdraw; BIRD restart relearns. The IPv6 session runs from a chosen
// source address (Peer.LocalAddress), which becomes the next hop.
func TestBIRDInterop(t *testing.T) {
	l := newBIRDLab(t,
		[]bird.Neighbor{birdNeighbor("node4", nodeV4), birdNeighbor("node6", nodeV6b)},
		[]nodeRule{{Selector: "org=empire", Attributes: bgp.Attributes{Communities: []bgp.Community{bgp.CommunityFrom(65000, 100)}, LargeCommunities: []bgp.LargeCommunity{{65000, 1, 1}}}}})
	require.NoError(t, l.node.Addr("eth0", nodeV6b.String()+"/64"))
	p4, p6 := speakerPeer(routerV4), speakerPeer(routerV6)
	p6.LocalAddress = nodeV6b
	for _, p := range []bgp.Peer{p4, p6} {
		l.speak.must(nodeRequest{Op: "addpeer", Peer: &p})
	}
	l.bird.WaitEstablishedT(t, "node4")
	l.bird.WaitEstablishedT(t, "node6")

	l.speak.must(nodeRequest{Op: "announce", Service: &deathstar})
	rs := l.bird.WaitRoutesT(t, "the deathstar routes", birdHas(host(deathstarV4), host(deathstarV6)))
	v4, v6 := routeFor(rs, host(deathstarV4)), routeFor(rs, host(deathstarV6))
	if out, err := l.bird.Command("show", "route", "all"); err == nil {
		t.Logf("birdc show route all:\n%s", out)
	}
	assert.Equal(t, "node4", v4.Protocol)
	assert.Equal(t, nodeV4, v4.Gateway)
	assert.Equal(t, "node6", v6.Protocol)
	assert.Equal(t, nodeV6b, v6.Gateway)
	for _, r := range []bird.Route{v4, v6} {
		assert.Equal(t, []string{"65000:100"}, r.Communities, r.Prefix)
		assert.Equal(t, []string{"65000:1:1"}, r.LargeCommunities, r.Prefix)
		assert.Equal(t, "65001", r.ASPath, r.Prefix)
	}
	assert.Contains(t, l.waitKernel(t, deathstarV6, "via 2001:db8:213::3"), "proto bird")
	l.waitKernel(t, deathstarV4, "via 10.213.0.2")

	l.speak.must(nodeRequest{Op: "withdraw", Key: deathstar.Key})
	l.bird.WaitRoutesT(t, "no routes after withdraw", birdHas())
	l.waitKernel(t, deathstarV6, "")
	l.waitKernel(t, deathstarV4, "")

	l.speak.must(nodeRequest{Op: "announce", Service: &deathstar})
	l.bird.WaitRoutesT(t, "routes again", birdHas(host(deathstarV4), host(deathstarV6)))
	require.NoError(t, l.bird.Restart())
	l.bird.WaitRoutesT(t, "routes relearned after BIRD restart", birdHas(host(deathstarV4), host(deathstarV6)))
	l.waitKernel(t, deathstarV6, "via 2001:db8:213::3")

	// Close withdraws: BIRD and its kernel forget the routes.
	l.speak.must(nodeRequest{Op: "close"})
	l.bird.WaitRoutesT(t, "no routes after Close", birdHas())
	l.waitKernel(t, deathstarV6, "")
}

// TestBIRDMultiprotocol: one IPv4 session carries both families; the IPv6
// route gets the explicit IPv6 next hop, which BIRD and its kernel use.
func TestBIRDMultiprotocol(t *testing.T) {
	l, p := newMultiprotocolLab(t, "node")
	l.speak.must(nodeRequest{Op: "addpeer", Peer: &p})
	l.bird.WaitEstablishedT(t, "node")

	l.speak.must(nodeRequest{Op: "announce", Service: &deathstar})
	rs := l.bird.WaitRoutesT(t, "both routes over one session", birdHas(host(deathstarV4), host(deathstarV6)))
	assert.Equal(t, nodeV6, routeFor(rs, host(deathstarV6)).Gateway)
	assert.Equal(t, []netip.Addr{nodeV6}, routeFor(rs, host(deathstarV6)).NextHops)
	assert.Equal(t, nodeV4, routeFor(rs, host(deathstarV4)).Gateway)
	l.waitKernel(t, deathstarV6, "via 2001:db8:213::2")
}

// TestBIRDPassword: TCP MD5 with the right password establishes; with a
// wrong one the session stays down.
func TestBIRDPassword(t *testing.T) {
	n4 := birdNeighbor("node4", nodeV4)
	n4.Password = "death-star-plans"
	n6 := birdNeighbor("node6", nodeV6)
	n6.Password = "death-star-plans"
	l := newBIRDLab(t, []bird.Neighbor{n4, n6}, nil)

	right := speakerPeer(routerV4)
	right.Password = "death-star-plans"
	wrong := speakerPeer(routerV6)
	wrong.Password = "rebel-plans"
	l.speak.must(nodeRequest{Op: "addpeer", Peer: &right})
	l.speak.must(nodeRequest{Op: "addpeer", Peer: &wrong})
	l.bird.WaitEstablishedT(t, "node4")
	l.speak.must(nodeRequest{Op: "announce", Service: &deathstar})
	l.bird.WaitRoutesT(t, "the IPv4 route only", birdHas(host(deathstarV4)))

	time.Sleep(3 * time.Second) // several connect retries
	assert.NotEqual(t, bgp.StateEstablished, l.speak.peerState(routerV6), "wrong password")
	ps, err := l.bird.Protocols()
	require.NoError(t, err)
	i := slices.IndexFunc(ps, func(p bird.Protocol) bool { return p.Name == "node6" })
	require.GreaterOrEqual(t, i, 0)
	assert.False(t, ps[i].Established())

	// Fixing the password brings the session up.
	wrong.Password = "death-star-plans"
	l.speak.must(nodeRequest{Op: "updatepeer", Peer: &wrong})
	l.bird.WaitEstablishedT(t, "node6")
	l.bird.WaitRoutesT(t, "both routes", birdHas(host(deathstarV4), host(deathstarV6)))
}

// TestBIRDGracefulRestart: with graceful restart, CloseGraceful leaves the
// routes in BIRD (and its kernel) while a new speaker comes; Close
// withdraws them.
func TestBIRDGracefulRestart(t *testing.T) {
	l, p := newMultiprotocolLab(t, "node4")
	p.GracefulRestart = true
	p.RestartTime = 60 * time.Second
	l.speak.must(nodeRequest{Op: "addpeer", Peer: &p})
	l.speak.must(nodeRequest{Op: "announce", Service: &deathstar})
	l.bird.WaitRoutesT(t, "routes", birdHas(host(deathstarV4), host(deathstarV6)))

	l.speak.must(nodeRequest{Op: "closegraceful"})
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps, err := l.bird.Protocols()
		require.NoError(t, err)
		if i := slices.IndexFunc(ps, func(p bird.Protocol) bool { return p.Name == "node4" }); i >= 0 && !ps[i].Established() {
			break
		}
		require.True(t, time.Now().Before(deadline), "BIRD never noticed the session end")
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	rs, err := l.bird.Routes()
	require.NoError(t, err)
	assert.True(t, birdHas(host(deathstarV4), host(deathstarV6))(rs), "BIRD keeps the routes (stale): %v", rs)
	l.waitKernel(t, deathstarV6, "via 2001:db8:213::2")
	out, err := l.bird.Command("show", "protocols", "all", "node4")
	require.NoError(t, err)
	assert.Contains(t, strings.ToLower(out), "graceful restart", "BIRD is in graceful-restart helper mode:\n%s", out)

	// A new speaker (the restarted node agent) takes over the routes.
	l.speak = startNode(t, l.node, nodeConfig{ASN: speakerASN, RouterID: nodeV4})
	l.speak.must(nodeRequest{Op: "addpeer", Peer: &p})
	l.speak.must(nodeRequest{Op: "announce", Service: &deathstar})
	l.bird.WaitEstablishedT(t, "node4")
	l.bird.WaitRoutesT(t, "routes after restart", birdHas(host(deathstarV4), host(deathstarV6)))

	// Close, even with graceful restart on, withdraws.
	l.speak.must(nodeRequest{Op: "close"})
	l.bird.WaitRoutesT(t, "no routes after Close", birdHas())
	l.waitKernel(t, deathstarV6, "")
}

// TestBIRDReflectedRoutes: BIRD exports everything, so it sends our route
// learned on one session back over the other (its AS path holds our ASN),
// plus a route of its own. Only BIRD's own route counts as received.
func TestBIRDReflectedRoutes(t *testing.T) {
	n4 := birdNeighbor("node4", nodeV4)
	n6 := birdNeighbor("node6", nodeV6)
	n4.ExportAll, n6.ExportAll = true, true
	n6.IPv4, n6.IPv6 = true, true
	l := newBIRDNet(t, nil)
	cfg := l.bird.Config()
	cfg.Neighbors = []bird.Neighbor{n4, n6}
	cfg.Extra = "protocol static { ipv4; route 10.99.0.0/16 blackhole; }\n"
	require.NoError(t, l.bird.Reconfigure(cfg))
	l.speak = startNode(t, l.node, nodeConfig{ASN: speakerASN, RouterID: nodeV4})

	p4 := speakerPeer(routerV4)
	p6 := speakerPeer(routerV6)
	p6.Families, p6.NextHopIPv4 = []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}, nodeV4
	for _, p := range []bgp.Peer{p4, p6} {
		l.speak.must(nodeRequest{Op: "addpeer", Peer: &p})
	}
	l.speak.must(nodeRequest{Op: "announce", Service: &deathstar})
	rs := l.bird.WaitRoutesT(t, "our routes over both sessions", func(rs []bird.Route) bool {
		n := 0
		for _, r := range rs {
			if r.Prefix == host(deathstarV4) {
				n++
			}
		}
		return n == 2
	})
	t.Logf("BIRD routes: %v", rs)

	deadline := time.Now().Add(20 * time.Second)
	for {
		ps := l.speak.must(nodeRequest{Op: "peers"}).Peers
		require.Len(t, ps, 2)
		if ps[0].Received == 1 && ps[1].Received == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "each session should count BIRD's static route only: %+v", ps)
		time.Sleep(100 * time.Millisecond)
	}
	// The reflection really happens: BIRD sends its best route for our
	// address to the session it did not learn it from.
	out, err := l.bird.Command("show", "route", "export", "node6", "all")
	require.NoError(t, err)
	t.Logf("exported to node6:\n%s", out)
}
