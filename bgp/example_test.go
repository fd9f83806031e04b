package bgp_test

import (
	"context"
	"errors"
	"fmt"

	"net/netip"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/internal/freeport"
	"github.com/lbkit/lbkit/selector"
)

// A node's speaker announces the deathstar's addresses, tagged with a
// community, to a router; only services labelled announced=bgp are
// announced. Here the "router" is a second Speaker on loopback.
func Example() {
	ctx := context.Background()
	loopback := netip.MustParseAddr("127.0.0.1")
	port := freePort()

	router, err := bgp.New(ctx, bgp.Config{ASN: 65000, RouterID: netip.MustParseAddr("10.0.0.1"), Listen: true, ListenPort: port, ListenAddrs: []netip.Addr{loopback}})
	if err != nil {
		panic(err)
	}
	defer router.Close()
	_ = router.AddPeer(ctx, bgp.Peer{
		Address: loopback, ASN: 65001, Passive: true,
		Families:    []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast},
		NextHopIPv6: netip.MustParseAddr("2001:db8:1::1"),
	})

	node, err := bgp.New(ctx, bgp.Config{
		ASN:      65001,
		RouterID: netip.MustParseAddr("10.0.0.2"),
		Rules: []bgp.Rule{{
			Selector:   selector.MustParse("org=empire"),
			Attributes: bgp.Attributes{Communities: []bgp.Community{bgp.MustParseCommunity("65000:100")}},
		}},
	})
	if err != nil {
		panic(err)
	}
	defer node.Close()

	// IPv6 routes over an IPv4 session need an explicit IPv6 next hop.
	p := bgp.Peer{Address: loopback, ASN: 65000, Port: port, Families: []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}}
	fmt.Println(errors.Is(node.AddPeer(ctx, p), bgp.ErrInvalidPeer))
	p.NextHopIPv6 = netip.MustParseAddr("2001:db8:1::2")
	if err := node.AddPeer(ctx, p); err != nil {
		panic(err)
	}

	a := announce.Select(selector.MustParse("announced=bgp"), node)
	err = a.Announce(ctx, announce.Service{
		Key:    "batuu/deathstar",
		Labels: selector.Set{"org": "empire", "announced": "bgp"},
		Addrs:  []netip.Addr{netip.MustParseAddr("172.18.255.201"), netip.MustParseAddr("2001:db8:dead:beef::111")},
	})
	if err != nil {
		panic(err)
	}

	for {
		ps, _ := router.Peers(ctx)
		if len(ps) == 1 && ps[0].Received == 2 {
			fmt.Println(ps[0].Address, ps[0].State, "routes received:", ps[0].Received)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output:
	// true
	// 127.0.0.1 established routes received: 2
}

func freePort() uint16 {
	port, err := freeport.TCP(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		panic(err)
	}
	return port
}
