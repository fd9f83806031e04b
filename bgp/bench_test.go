package bgp_test

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	packet "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/bgp/bgptest"
	"github.com/lbkit/lbkit/internal/bird"
	"github.com/lbkit/lbkit/internal/gobgpstart"
)

// waitAccepted waits until the router holds want routes from neighbor
// addr.
func waitAccepted(b testing.TB, r *bgptest.Router, addr netip.Addr, want uint64) {
	deadline := time.Now().Add(60 * time.Second)
	for routerPeerStatus(b, r, addr).Accepted != want {
		if time.Now().After(deadline) {
			b.Fatalf("router holds %d routes, want %d", routerPeerStatus(b, r, addr).Accepted, want)
		}
		// Not more often: the router's peer listing counts the received
		// routes by walking its table, inside its server loop.
		time.Sleep(50 * time.Millisecond)
	}
}

// scaleN is the number of IPv4 and of IPv6 services of the scale
// benchmarks: 50,000 /32 and 50,000 /128.
const scaleN = 50000

// BenchmarkAnnounce100k: one op announces 50,000 IPv4 /32 and 50,000 IPv6
// /128 (one service each) and lasts until the in-process GoBGP router
// holds all 100,000 (goal < 5 s). Metrics: routes per UPDATE message the
// router received, for the announcements and for the withdrawals (not
// timed) that follow (goal ≥ 100).
func BenchmarkAnnounce100k(b *testing.B) {
	r := newTestRouter(b, lo4, routerASN, speakerAt(lo4))
	s := newSpeaker(b, bgp.Config{})
	p := dualStack(routerPeer(r), netip.MustParseAddr("2001:db8:ffff::2"))
	if err := s.AddPeer(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	waitState(b, s, lo4, bgp.StateEstablished)
	svcs := bulkServices(scaleN)
	ctx := context.Background()
	var annUpdates, wdUpdates uint64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		before := routerPeerStatus(b, r, lo4).Updates
		for _, svc := range svcs {
			if err := s.Announce(ctx, svc); err != nil {
				b.Fatal(err)
			}
		}
		waitAccepted(b, r, lo4, 2*scaleN)
		b.StopTimer()
		mid := routerPeerStatus(b, r, lo4).Updates
		for _, svc := range svcs {
			if err := s.Withdraw(ctx, svc.Key); err != nil {
				b.Fatal(err)
			}
		}
		waitAccepted(b, r, lo4, 0)
		annUpdates += mid - before
		wdUpdates += routerPeerStatus(b, r, lo4).Updates - mid
		b.StartTimer()
	}
	b.ReportMetric(float64(2*scaleN*b.N)/float64(annUpdates), "routes/update")
	b.ReportMetric(float64(2*scaleN*b.N)/float64(wdUpdates), "withdrawals/update")
}

// BenchmarkSpeakerMemory: one op announces 50,000 IPv4 and 50,000 IPv6
// services on a speaker without peers; the metric is the live heap per
// route (the speaker's state and GoBGP's RIB) after a GC.
func BenchmarkSpeakerMemory(b *testing.B) {
	svcs := bulkServices(scaleN)
	ctx := context.Background()
	var perRoute float64
	for range b.N {
		b.StopTimer()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		s := newSpeaker(b, bgp.Config{})
		b.StartTimer()
		for _, svc := range svcs {
			if err := s.Announce(ctx, svc); err != nil {
				b.Fatal(err)
			}
		}
		s.Flushed()
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		perRoute += float64(m1.HeapAlloc-m0.HeapAlloc) / float64(2*scaleN)
		runtime.KeepAlive(svcs)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(perRoute/float64(b.N), "heap-B/route")
}

// BenchmarkOverhead compares, on speakers without peers, Speaker.Announce
// with calling GoBGP's AddPath directly for the same routes, built the
// way GoBGP's own examples do, one AddPath per route. One op announces
// 1,000 IPv4 and 1,000 IPv6 routes each way; the ratio metric is lbkit's
// time over GoBGP's (goal ≤ 1.1).
func BenchmarkOverhead(b *testing.B) {
	ctx := context.Background()
	s := newSpeaker(b, bgp.Config{})
	direct := server.NewBgpServer(server.LoggerOption(bgp.NewGoBGPLogger(nil), nil))
	go direct.Serve()
	if err := gobgpstart.Start(ctx, direct, &api.StartBgpRequest{Global: &api.Global{Asn: 65002, RouterId: "10.255.255.3", ListenPort: -1}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = gobgpstart.Stop(direct) })

	const n = 1000
	var lbkit, gobgp time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	viaLbkit := func(svcs []announce.Service) time.Duration {
		start := time.Now()
		for _, svc := range svcs {
			if err := s.Announce(ctx, svc); err != nil {
				b.Fatal(err)
			}
		}
		s.Flushed() // until GoBGP has them all
		return time.Since(start)
	}
	viaGoBGP := func(svcs []announce.Service) time.Duration {
		start := time.Now()
		for _, svc := range svcs {
			for _, a := range svc.Addrs {
				if _, err := direct.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{directPath(b, a)}}); err != nil {
					b.Fatal(err)
				}
			}
		}
		return time.Since(start)
	}
	for i := range b.N {
		svcs := overheadServices(i, n)
		// Alternate who goes first, so that neither pays more of the
		// other's garbage collection.
		if i%2 == 0 {
			lbkit += viaLbkit(svcs)
			gobgp += viaGoBGP(svcs)
		} else {
			gobgp += viaGoBGP(svcs)
			lbkit += viaLbkit(svcs)
		}
	}
	b.ReportMetric(float64(lbkit.Nanoseconds())/float64(b.N*2*n), "lbkit-ns/route")
	b.ReportMetric(float64(gobgp.Nanoseconds())/float64(b.N*2*n), "gobgp-ns/route")
	b.ReportMetric(float64(lbkit)/float64(gobgp), "ratio")
}

// overheadServices returns n IPv4 and n IPv6 services for iteration i,
// with addresses no other iteration uses.
func overheadServices(i, n int) []announce.Service {
	out := make([]announce.Service, 0, 2*n)
	for j := range n {
		k := i*n + j
		v4 := netip.AddrFrom4([4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)})
		v6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(k >> 16), byte(k >> 8), byte(k)})
		out = append(out,
			announce.Service{Key: fmt.Sprintf("o/%d-4", k), Addrs: []netip.Addr{v4}},
			announce.Service{Key: fmt.Sprintf("o/%d-6", k), Addrs: []netip.Addr{v6}})
	}
	return out
}

// directPath builds the path for a the way GoBGP's own examples do.
func directPath(b testing.TB, a netip.Addr) *apiutil.Path {
	origin := packet.NewPathAttributeOrigin(packet.BGP_ORIGIN_ATTR_TYPE_IGP)
	nlri, err := packet.NewIPAddrPrefix(netip.PrefixFrom(a, a.BitLen()))
	if err != nil {
		b.Fatal(err)
	}
	if a.Is4() {
		nh, err := packet.NewPathAttributeNextHop(netip.IPv4Unspecified())
		if err != nil {
			b.Fatal(err)
		}
		return &apiutil.Path{Family: packet.RF_IPv4_UC, Nlri: nlri, Attrs: []packet.PathAttributeInterface{origin, nh}}
	}
	mp, err := packet.NewPathAttributeMpReachNLRI(packet.RF_IPv6_UC, []packet.PathNLRI{{NLRI: nlri}}, netip.IPv6Unspecified())
	if err != nil {
		b.Fatal(err)
	}
	return &apiutil.Path{Family: packet.RF_IPv6_UC, Nlri: nlri, Attrs: []packet.PathAttributeInterface{origin, mp}}
}

// BenchmarkBIRD100k: as BenchmarkAnnounce100k, but the speaker runs in a
// node namespace and the router is BIRD 2 in another (privileged; skipped
// otherwise). One op lasts from the first Announce until BIRD's tables
// hold all 100,000 routes (goal < 5 s).
func BenchmarkBIRD100k(b *testing.B) {
	l := newBIRDNet(b, []bird.Neighbor{birdNeighbor("node4", nodeV4), birdNeighbor("node6", nodeV6)})
	for range b.N {
		b.StopTimer()
		node := startNode(b, l.node, nodeConfig{ASN: speakerASN, RouterID: nodeV4})
		for _, a := range []netip.Addr{routerV4, routerV6} {
			p := speakerPeer(a)
			node.must(nodeRequest{Op: "addpeer", Peer: &p})
		}
		l.bird.WaitEstablishedT(b, "node4")
		l.bird.WaitEstablishedT(b, "node6")
		b.StartTimer()
		node.must(nodeRequest{Op: "bulk", N: scaleN})
		waitBIRDCount(b, l.bird, 2*scaleN)
		b.StopTimer()
		node.must(nodeRequest{Op: "close"})
		node.stop()
		waitBIRDCount(b, l.bird, 0)
		b.StartTimer()
	}
}

// waitBIRDCount waits until BIRD's tables hold want routes in all.
func waitBIRDCount(b testing.TB, r *bird.Router, want int) {
	deadline := time.Now().Add(120 * time.Second)
	for {
		out, err := r.Command("show", "route", "count")
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for _, line := range strings.Split(out, "\n") {
			var n int
			if _, err := fmt.Sscanf(strings.TrimSpace(line), "%d of", &n); err == nil {
				got += n
			}
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("BIRD holds %d routes, want %d:\n%s", got, want, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkSpeakerAnnounce: one op announces one new single-address
// service (alternately IPv4 and IPv6) on a speaker without peers.
func BenchmarkSpeakerAnnounce(b *testing.B) {
	s := newSpeaker(b, bgp.Config{})
	ctx := context.Background()
	svcs := overheadServices(0, b.N/2+1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Announce(ctx, svcs[i]); err != nil {
			b.Fatal(err)
		}
	}
}
