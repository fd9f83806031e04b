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

// Two nodes answer on one segment (in memory here) for the services they
// lead. When the leader is marked dead, the other node takes over, and its
// gratuitous ARP moves the host's neighbour entry at once.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var lan l2test.Segment
	host, err := l2test.NewHost(&lan, net.HardwareAddr{2, 0, 0, 0, 0, 0xcc}, netip.MustParseAddr("172.18.0.10"))
	if err != nil {
		panic(err)
	}
	defer host.Close()
	vip := netip.MustParseAddr("172.18.255.201")
	var electors []*l2.Rendezvous
	for i, node := range []string{"node-a", "node-b"} {
		e := l2.NewRendezvous(node, "node-a", "node-b")
		eth0 := &net.Interface{Index: 2, Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, byte(0xa + i)}}
		a, err := l2.NewWithLinks(ctx, l2.Config{Elector: e, Gratuitous: l2.Gratuitous{Count: 1}}, l2.Link{Interface: eth0, Conn: lan.Attach()})
		if err != nil {
			panic(err)
		}
		defer a.Close()
		if err := a.Announce(ctx, announce.Service{Key: "batuu/deathstar", Addrs: []netip.Addr{vip}}); err != nil {
			panic(err)
		}
		electors = append(electors, e)
	}
	seen := func(n int) l2test.Announcement { // waits for the nth gratuitous ARP
		ga, err := host.WaitAnnouncements(ctx, n)
		if err != nil {
			panic(err)
		}
		return ga[n-1]
	}

	leader, _ := electors[0].Leader("batuu/deathstar")
	mac, err := host.Resolve(ctx, vip, time.Second)
	fmt.Println(leader, "leads; the host resolves", vip, "to", mac, err)
	fmt.Println("gratuitous:", seen(1))
	for _, e := range electors { // as the controller does on every node
		e.MarkDead(leader)
	}
	fmt.Println("gratuitous:", seen(2))
	mac, err = host.Resolve(ctx, vip, time.Second)
	fmt.Println("the host resolves", vip, "to", mac, err)
	// Output:
	// node-a leads; the host resolves 172.18.255.201 to 02:00:00:00:00:0a <nil>
	// gratuitous: 172.18.255.201 is-at 02:00:00:00:00:0a
	// gratuitous: 172.18.255.201 is-at 02:00:00:00:00:0b
	// the host resolves 172.18.255.201 to 02:00:00:00:00:0b <nil>
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
