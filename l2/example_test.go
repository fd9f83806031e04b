package l2_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/l2/l2test"
)

// An announcer answers, on an in-memory Ethernet segment, the ARP request
// of a host for the service address with the interface's MAC.
func Example() {
	var seg l2test.Segment // stands in for the node's LAN
	eth0 := &net.Interface{Index: 2, Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}
	a, err := l2.NewWithLinks(context.Background(), l2.Config{}, l2.Link{Interface: eth0, Conn: seg.Attach()})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	svc := announce.Service{Key: "batuu/deathstar", Addrs: []netip.Addr{netip.MustParseAddr("172.18.255.201")}}
	if err := a.Announce(context.Background(), svc); err != nil {
		panic(err)
	}

	client, err := l2test.NewHost(&seg, net.HardwareAddr{2, 0, 0, 0, 0, 0xcc}, netip.MustParseAddr("172.18.0.10"))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	mac, err := client.Resolve(context.Background(), svc.Addrs[0], time.Second)
	fmt.Println(svc.Addrs[0], "is at", mac, err)
	// Output:
	// 172.18.255.201 is at 02:00:00:00:00:01 <nil>
}

// Every node computes the same leader per service; when the leader dies,
// only its services move.
func ExampleRendezvous() {
	nodes := []string{"node-a", "node-b", "node-c"}
	e := l2.NewRendezvous("node-a", nodes...)
	leader, _ := e.Leader("batuu/deathstar")
	fmt.Println("leader:", leader)
	e.MarkDead(leader)
	next, _ := e.Leader("batuu/deathstar")
	fmt.Println("after", leader, "dies:", next)
	// Output:
	// leader: node-a
	// after node-a dies: node-b
}

// A node that answers, on its uplinks, for the services it leads among the
// cluster's ready nodes. The controller keeps the member list current.
func ExampleNew() {
	ctx := context.Background()
	elector := l2.NewRendezvous("node-a", "node-a", "node-b", "node-c")
	a, err := l2.New(ctx, l2.Config{
		Interfaces: []string{"eth0", "bond[0-9]+"},
		Elector:    elector,
		Gratuitous: l2.Gratuitous{Count: 3, Interval: 500 * time.Millisecond},
		Logger:     slog.Default(),
	})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	_ = a.Announce(ctx, announce.Service{
		Key:   "batuu/deathstar",
		Addrs: []netip.Addr{netip.MustParseAddr("172.18.255.201"), netip.MustParseAddr("2001:db8:dead:beef::111")},
	})
	// node-b stopped answering health checks: its services move here or
	// to node-c within milliseconds.
	elector.MarkDead("node-b")
}
