package bgptest_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/bgp/bgptest"
	"github.com/lbkit/lbkit/selector"
)

// A bgp.Speaker announces the deathstar's addresses, with a community, to
// an in-process router on loopback; the router's table shows what a real
// router would learn.
func Example() {
	ctx := context.Background()
	router, err := bgptest.NewRouter(ctx, bgptest.Config{ASN: 65000, RouterID: netip.MustParseAddr("10.0.0.1")})
	if err != nil {
		panic(err)
	}
	defer router.Close()
	node := netip.MustParseAddr("127.0.0.1") // the speaker's address, as the router sees it
	if err := router.AddPeer(ctx, bgptest.Peer{Address: node, ASN: 65001}); err != nil {
		panic(err)
	}

	speaker, err := bgp.New(ctx, bgp.Config{
		ASN: 65001, RouterID: netip.MustParseAddr("10.0.0.2"),
		Rules: []bgp.Rule{{Attributes: bgp.Attributes{Communities: []bgp.Community{bgp.CommunityFrom(65000, 100)}}}},
	})
	if err != nil {
		panic(err)
	}
	defer speaker.Close()
	err = speaker.AddPeer(ctx, bgp.Peer{
		Address: router.Addr(), Port: router.Port(), ASN: router.ASN(),
		Families:    []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast},
		NextHopIPv6: netip.MustParseAddr("2001:db8:1::2"),
	})
	if err != nil {
		panic(err)
	}
	err = speaker.Announce(ctx, announce.Service{
		Key:    "batuu/deathstar",
		Labels: selector.Set{"org": "empire"},
		Addrs:  []netip.Addr{netip.MustParseAddr("172.18.255.201"), netip.MustParseAddr("2001:db8:dead:beef::111")},
	})
	if err != nil {
		panic(err)
	}

	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	routes, err := router.WaitRoutes(wctx, func(rts []bgptest.Route) bool { return len(rts) == 2 })
	if err != nil {
		panic(err)
	}
	for _, rt := range routes {
		fmt.Println(rt)
	}
	rt, ok, _ := router.Lookup(ctx, netip.MustParseAddr("172.18.255.201"))
	fmt.Println(ok, rt.Prefix, rt.NextHop, rt.From)
	// Output:
	// 172.18.255.201/32 via 127.0.0.1 as-path [65001] communities [65000:100]
	// 2001:db8:dead:beef::111/128 via 2001:db8:1::2 as-path [65001] communities [65000:100]
	// true 172.18.255.201/32 127.0.0.1 127.0.0.1
}
