package l2

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/lbkit/lbkit/announce"
	"github.com/mdlayher/arp"
)

// fuzzSeeds are valid and near-valid queries; the committed corpus in
// testdata/fuzz/FuzzReceive holds them and more.
func fuzzSeeds() [][]byte {
	unowned := netip.MustParseAddr("2001:db8:dead:beef::112")
	return [][]byte{
		arpRequest(broadcastMAC, clientV4, svcV4),
		arpRequest(nodeMAC, netip.IPv4Unspecified(), svcV4),
		arpRequest(broadcastMAC, clientV4, netip.MustParseAddr("172.18.255.202")),
		nsFrame(nsOpts{src: clientV6, target: svcV6, slla: true}),
		nsFrame(nsOpts{src: clientV6, target: svcV6}),
		nsFrame(nsOpts{src: clientV6, dst: svcV6, target: svcV6}),
		nsFrame(nsOpts{src: netip.IPv6Unspecified(), target: svcV6}),
		nsFrame(nsOpts{src: clientV6, target: unowned}),
		nsFrame(nsOpts{src: clientV6, target: svcV6, extraBytes: 7}),
	}
}

// FuzzReceive feeds arbitrary frames through the receive path of an
// announcer that owns svcV4 and svcV6: it must not panic, and whatever it
// sends must be an answer from this node for an owned address.
func FuzzReceive(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	c := newFakeConn()
	a, err := NewWithLinks(context.Background(), Config{Gratuitous: Gratuitous{Count: -1}},
		Link{Interface: &net.Interface{Index: 1, Name: "fz0", HardwareAddr: nodeMAC}, Conn: c})
	if err != nil {
		f.Fatal(err)
	}
	defer a.Close()
	if err := a.Announce(context.Background(), announce.Service{Key: "k", Addrs: []netip.Addr{svcV4, svcV6}}); err != nil {
		f.Fatal(err)
	}
	a.mu.RLock()
	l := a.links[1]
	a.mu.RUnlock()
	owned := map[netip.Addr]bool{svcV4: true, svcV6: true}
	f.Fuzz(func(t *testing.T, frame []byte) {
		c.reset()
		a.handle(l, frame)
		sent := c.sent()
		if len(sent) > 1 {
			t.Fatalf("%d frames sent for one query", len(sent))
		}
		for _, s := range sent {
			checkAnswer(t, s.frame, owned)
		}
	})
}

func checkAnswer(t *testing.T, frame []byte, owned map[netip.Addr]bool) {
	t.Helper()
	if d, ok := decodeARP(frame); ok {
		if d.p.Operation != arp.OperationReply || !owned[d.p.SenderIP] || d.p.SenderHardwareAddr.String() != nodeMAC.String() {
			t.Fatalf("bad ARP answer: %+v", d.p)
		}
		return
	}
	d, ok := decodeNA(frame)
	if !ok {
		t.Fatalf("answer is neither ARP nor NA: %x", frame)
	}
	if !owned[d.na.TargetAddress] || d.src != d.na.TargetAddress || !d.sumOK || d.hopLimit != 255 || !d.na.Override {
		t.Fatalf("bad NA answer: %+v from %s", d.na, d.src)
	}
}
