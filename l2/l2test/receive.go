package l2test

import (
	"net"
	"net/netip"
	"slices"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// receive handles the frames reaching the host until its port closes.
// Malformed frames and frames of other protocols are ignored.
func (h *Host) receive() {
	defer close(h.done)
	buf := make([]byte, 1<<16)
	for {
		n, _, err := h.port.ReadFrom(buf)
		if err != nil {
			return
		}
		h.handle(buf[:n])
	}
}

// handle handles one frame.
func (h *Host) handle(b []byte) {
	var f ethernet.Frame
	if f.UnmarshalBinary(b) != nil {
		return
	}
	switch f.EtherType {
	case ethernet.EtherTypeARP:
		var p arp.Packet
		if p.UnmarshalBinary(f.Payload) == nil {
			h.handleARP(&p)
		}
	case ethernet.EtherTypeIPv6:
		h.handleNDP(&f)
	}
}

func (h *Host) handleARP(p *arp.Packet) {
	switch {
	case p.SenderIP == p.TargetIP && !p.SenderIP.IsUnspecified():
		h.announced(p.SenderIP, p.SenderHardwareAddr)
	case p.Operation == arp.OperationReply && slices.Equal(p.TargetHardwareAddr, h.mac):
		h.answered(p.SenderIP, p.SenderHardwareAddr)
	case p.Operation == arp.OperationRequest && h.owns(p.TargetIP):
		f, err := arpFrame(arp.OperationReply, p.SenderHardwareAddr, h.mac, p.TargetIP, p.SenderHardwareAddr, p.SenderIP)
		if err == nil {
			_, _ = h.port.WriteTo(f, nil)
		}
	}
}

func (h *Host) handleNDP(f *ethernet.Frame) {
	m, src, _, ok := parseNDP(f.Payload)
	if !ok {
		return
	}
	switch m := m.(type) {
	case *ndp.NeighborAdvertisement:
		mac := lla(m.Options, ndp.Target)
		if mac == nil {
			mac = f.Source
		}
		switch {
		case !m.Solicited:
			h.announced(m.TargetAddress, mac)
		case slices.Equal(f.Destination, h.mac):
			h.answered(m.TargetAddress, mac)
		}
	case *ndp.NeighborSolicitation:
		if h.owns(m.TargetAddress) {
			h.advertise(m.TargetAddress, src, f.Source)
		}
	}
}

// advertise answers a solicitation for target from src (at MAC from).
func (h *Host) advertise(target, src netip.Addr, from net.HardwareAddr) {
	na := &ndp.NeighborAdvertisement{
		Solicited: !src.IsUnspecified(), Override: true, TargetAddress: target,
		Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: h.mac}},
	}
	dst, ethDst := src, from
	if src.IsUnspecified() {
		dst, ethDst = allNodes, multicastMAC(allNodes)
	}
	f, err := ndpFrame(na, ethDst, h.mac, target, dst)
	if err == nil {
		_, _ = h.port.WriteTo(f, nil)
	}
}
