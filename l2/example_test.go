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
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// memConn is a net.PacketConn of Ethernet frames in memory, standing in for
// an AF_PACKET socket.
type memConn struct {
	in, out chan []byte
	done    chan struct{}
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case f := <-c.in:
		return copy(b, f), nil, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *memConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	c.out <- append([]byte(nil), b...)
	return len(b), nil
}

func (c *memConn) Close() error                     { close(c.done); return nil }
func (c *memConn) LocalAddr() net.Addr              { return nil }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// An announcer on an injected connection answers an ARP request for the
// service address with the interface's MAC.
func Example() {
	conn := &memConn{in: make(chan []byte, 1), out: make(chan []byte, 1), done: make(chan struct{})}
	eth0 := &net.Interface{Index: 2, Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}
	a, err := l2.NewWithLinks(context.Background(), l2.Config{
		Gratuitous: l2.Gratuitous{Count: -1}, // keep the example's wire quiet
	}, l2.Link{Interface: eth0, Conn: conn})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	svc := announce.Service{Key: "batuu/deathstar", Addrs: []netip.Addr{netip.MustParseAddr("172.18.255.201")}}
	if err := a.Announce(context.Background(), svc); err != nil {
		panic(err)
	}

	// A client on the segment asks who has 172.18.255.201.
	client := net.HardwareAddr{2, 0, 0, 0, 0, 0xcc}
	req, _ := arp.NewPacket(arp.OperationRequest, client, netip.MustParseAddr("172.18.0.10"),
		ethernet.Broadcast, netip.MustParseAddr("172.18.255.201"))
	payload, _ := req.MarshalBinary()
	frame, _ := (&ethernet.Frame{Destination: ethernet.Broadcast, Source: client,
		EtherType: ethernet.EtherTypeARP, Payload: payload}).MarshalBinary()
	conn.in <- frame

	var f ethernet.Frame
	_ = f.UnmarshalBinary(<-conn.out)
	var reply arp.Packet
	_ = reply.UnmarshalBinary(f.Payload)
	fmt.Printf("%v: %v is at %v (to %v)\n", reply.Operation, reply.SenderIP, reply.SenderHardwareAddr, f.Destination)
	// Output:
	// OperationReply: 172.18.255.201 is at 02:00:00:00:00:01 (to 02:00:00:00:00:cc)
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
