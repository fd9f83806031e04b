package l2test_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/l2/l2test"
)

// An l2.Announcer on one port of a segment answers the ARP and neighbour
// solicitations of a host on another, and announces the addresses
// gratuitously when it starts answering.
func Example() {
	var seg l2test.Segment
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // bounds every wait
	defer cancel()
	eth0 := &net.Interface{Index: 2, Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}
	a, err := l2.NewWithLinks(ctx, l2.Config{Gratuitous: l2.Gratuitous{Count: 1}}, l2.Link{Interface: eth0, Conn: seg.Attach()})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	host, err := l2test.NewHost(&seg, net.HardwareAddr{2, 0, 0, 0, 0, 0xcc}, netip.MustParseAddr("172.18.0.10"))
	if err != nil {
		panic(err)
	}
	defer host.Close()

	v4, v6 := netip.MustParseAddr("172.18.255.201"), netip.MustParseAddr("2001:db8:dead:beef::111")
	if err := a.Announce(ctx, announce.Service{Key: "batuu/deathstar", Addrs: []netip.Addr{v4, v6}}); err != nil {
		panic(err)
	}
	for _, addr := range []netip.Addr{v4, v6} {
		mac, err := host.Resolve(ctx, addr, time.Second)
		fmt.Println(addr, "is at", mac, err)
	}
	seen, err := host.WaitAnnouncements(ctx, 2) // the burst runs in the background
	fmt.Println("seen:", seen, err)

	_ = a.Withdraw(ctx, "batuu/deathstar")
	_, err = host.Resolve(ctx, v4, 50*time.Millisecond)
	fmt.Println(err)
	// Output:
	// 172.18.255.201 is at 02:00:00:00:00:01 <nil>
	// 2001:db8:dead:beef::111 is at 02:00:00:00:00:01 <nil>
	// seen: [172.18.255.201 is-at 02:00:00:00:00:01 2001:db8:dead:beef::111 is-at 02:00:00:00:00:01] <nil>
	// l2test: ARP who-has 172.18.255.201: no reply within 50ms
}
