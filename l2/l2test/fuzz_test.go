package l2test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// FuzzHostHandle feeds a host arbitrary frames: it must not panic, and
// whatever it answers must be a well-formed Ethernet frame.
func FuzzHostHandle(f *testing.F) {
	mac, peer := net.HardwareAddr{2, 0, 0, 0, 0, 0xa}, net.HardwareAddr{2, 0, 0, 0, 0, 0xb}
	v4, v6 := netip.MustParseAddr("172.18.0.10"), netip.MustParseAddr("2001:db8::a")
	peer4, peer6 := netip.MustParseAddr("172.18.0.11"), netip.MustParseAddr("2001:db8::b")
	seeds := []func() ([]byte, error){
		func() ([]byte, error) {
			return arpFrame(arp.OperationRequest, ethernet.Broadcast, peer, peer4, ethernet.Broadcast, v4)
		},
		func() ([]byte, error) {
			return arpFrame(arp.OperationRequest, ethernet.Broadcast, peer, peer4, ethernet.Broadcast, peer4)
		},
		func() ([]byte, error) { return arpFrame(arp.OperationReply, mac, peer, peer4, mac, v4) },
		func() ([]byte, error) {
			snm, _ := ndp.SolicitedNodeMulticast(v6)
			ns := &ndp.NeighborSolicitation{TargetAddress: v6, Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: peer}}}
			return ndpFrame(ns, multicastMAC(snm), peer, peer6, snm)
		},
		func() ([]byte, error) {
			ns := &ndp.NeighborSolicitation{TargetAddress: v6}
			return ndpFrame(ns, mac, peer, netip.IPv6Unspecified(), v6)
		},
		func() ([]byte, error) {
			na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: peer6, Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: peer}}}
			return ndpFrame(na, multicastMAC(allNodes), peer, peer6, allNodes)
		},
		func() ([]byte, error) {
			na := &ndp.NeighborAdvertisement{Solicited: true, TargetAddress: peer6}
			return ndpFrame(na, mac, peer, peer6, v6)
		},
	}
	for _, seed := range seeds {
		b, err := seed()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-3])
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var s Segment
		h, err := NewHost(&s, mac, v4, v6)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		wire := s.Attach()
		defer wire.Close()
		h.handle(frame)
		for _, a := range h.Announcements() {
			if !a.Addr.IsValid() {
				t.Errorf("announcement of an invalid address: %v", a)
			}
		}
		for wire.Dropped() == 0 && len(wire.in) > 0 {
			fr := <-wire.in
			var e ethernet.Frame
			if err := e.UnmarshalBinary(fr.b); err != nil {
				t.Errorf("host wrote a malformed frame %x: %v", fr.b, err)
			}
		}
	})
}
