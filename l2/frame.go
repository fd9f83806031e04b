package l2

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// Wire constants. Frames are Ethernet II, as AF_PACKET raw sockets see them.
const (
	ethHeaderLen  = 14
	ethMinFrame   = 60 // without FCS; shorter frames are padded
	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	ipv6HeaderLen = 40
	protoICMPv6   = 58
	ndpHopLimit   = 255 // RFC 4861: NDP messages must arrive with hop limit 255
	nsMinLen      = 24  // ICMPv6 header (4) + reserved (4) + target (16)
	maxFrame      = 1 << 16
)

var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	zeroMAC      = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	allNodes     = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01})
)

// A query is a frame that asks who has target: an ARP request or an NDP
// neighbour solicitation that passed validation. A gratuitous ARP request
// of another host is a query with claim set: it is never answered, but
// reveals a conflict when this node answers for target.
type query struct {
	target netip.Addr
	ethSrc net.HardwareAddr // the asker's MAC: replies go there
	claim  bool             // another host announces target as its own
	// ARP only: the requester's protocol and hardware addresses.
	arpSenderIP netip.Addr
	arpSenderHW net.HardwareAddr
	// NDP only: the solicitation's IPv6 source, unspecified for DAD probes.
	nsSrc netip.Addr
}

// parseQuery validates frame, received on an interface whose address is
// own, and returns the question it asks. It never panics and rejects
// anything that a conforming ARP or NDP implementation would not answer.
func parseQuery(frame []byte, own net.HardwareAddr) (query, bool) {
	if len(frame) < ethHeaderLen {
		return query{}, false
	}
	dst, src := net.HardwareAddr(frame[0:6]), net.HardwareAddr(frame[6:12])
	if isMulticastMAC(src) || bytes.Equal(src, own) || bytes.Equal(src, zeroMAC) {
		return query{}, false // bogus, or our own frame looped back
	}
	payload := frame[ethHeaderLen:]
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case etherTypeARP:
		if !bytes.Equal(dst, broadcastMAC) && !bytes.Equal(dst, own) {
			return query{}, false
		}
		return parseARP(payload, src)
	case etherTypeIPv6:
		return parseNS(payload, dst, src, own)
	}
	return query{}, false
}

func isMulticastMAC(mac net.HardwareAddr) bool { return mac[0]&1 != 0 }

// parseARP accepts an Ethernet/IPv4 ARP request; a gratuitous one (sender
// IP = target IP) is a claim.
func parseARP(payload []byte, ethSrc net.HardwareAddr) (query, bool) {
	var p arp.Packet
	if err := p.UnmarshalBinary(payload); err != nil {
		return query{}, false
	}
	if p.HardwareType != 1 || p.ProtocolType != etherTypeIPv4 ||
		p.HardwareAddrLength != 6 || p.IPLength != 4 ||
		p.Operation != arp.OperationRequest || isMulticastMAC(p.SenderHardwareAddr) {
		return query{}, false
	}
	return query{
		claim:       p.SenderIP == p.TargetIP,
		target:      p.TargetIP,
		ethSrc:      ethSrc,
		arpSenderIP: p.SenderIP,
		arpSenderHW: p.SenderHardwareAddr,
	}, true
}

// parseNS accepts an IPv6 neighbour solicitation that passes RFC 4861
// section 7.1.1 validation and is addressed, at both layers, to the
// target's solicited-node group or to the target itself.
func parseNS(pkt []byte, ethDst, ethSrc, own net.HardwareAddr) (query, bool) {
	if len(pkt) < ipv6HeaderLen || pkt[0]>>4 != 6 ||
		pkt[6] != protoICMPv6 || pkt[7] != ndpHopLimit {
		return query{}, false
	}
	n := int(binary.BigEndian.Uint16(pkt[4:6]))
	if n < nsMinLen || ipv6HeaderLen+n > len(pkt) {
		return query{}, false
	}
	msg := pkt[ipv6HeaderLen : ipv6HeaderLen+n] // drops Ethernet padding
	src := netip.AddrFrom16([16]byte(pkt[8:24]))
	dst := netip.AddrFrom16([16]byte(pkt[24:40]))
	if msg[0] != byte(ipv6.ICMPTypeNeighborSolicitation) || msg[1] != 0 ||
		checksum(src, dst, msg) != 0 || src.IsMulticast() {
		return query{}, false
	}
	m, err := ndp.ParseMessage(msg)
	if err != nil {
		return query{}, false
	}
	ns, ok := m.(*ndp.NeighborSolicitation)
	if !ok || !ns.TargetAddress.Is6() || ns.TargetAddress.IsMulticast() {
		return query{}, false
	}
	target := ns.TargetAddress
	snm, err := ndp.SolicitedNodeMulticast(target)
	if err != nil || (dst != snm && dst != target) || !ethMatches(ethDst, dst, own) {
		return query{}, false
	}
	if src.IsUnspecified() && (dst != snm || hasSourceLLA(ns)) {
		return query{}, false
	}
	return query{target: target, ethSrc: ethSrc, nsSrc: src}, true
}

// ethMatches reports whether an Ethernet destination fits the IPv6 one.
func ethMatches(ethDst net.HardwareAddr, dst netip.Addr, own net.HardwareAddr) bool {
	if dst.IsMulticast() {
		return bytes.Equal(ethDst, multicastMAC(dst))
	}
	return bytes.Equal(ethDst, own)
}

func hasSourceLLA(ns *ndp.NeighborSolicitation) bool {
	for _, o := range ns.Options {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Source {
			return true
		}
	}
	return false
}

// multicastMAC maps an IPv6 multicast group to its Ethernet group address
// (RFC 2464): 33:33 followed by the group's last four bytes.
func multicastMAC(group netip.Addr) net.HardwareAddr {
	g := group.As16()
	return net.HardwareAddr{0x33, 0x33, g[12], g[13], g[14], g[15]}
}

// checksum returns the ones' complement sum of the ICMPv6 pseudo-header and
// msg, folded and complemented: zero when msg carries a valid checksum, the
// checksum to store when msg's checksum field is zero.
func checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	sum += uint32(len(msg)) + protoICMPv6 // len < 2^16 here
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ethernetFrame returns an Ethernet II frame, padded to the minimum size.
func ethernetFrame(dst, src net.HardwareAddr, etherType uint16, payload []byte) []byte {
	b := make([]byte, max(ethHeaderLen+len(payload), ethMinFrame))
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], etherType)
	copy(b[ethHeaderLen:], payload)
	return b
}

// arpFrame returns an ARP packet in an Ethernet frame sent to ethDst.
func arpFrame(op arp.Operation, mac net.HardwareAddr, ip netip.Addr, ethDst, targetHW net.HardwareAddr, targetIP netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(op, mac, ip, targetHW, targetIP)
	if err != nil {
		return nil, err
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return ethernetFrame(ethDst, mac, etherTypeARP, b), nil
}

// naFrame returns a neighbour advertisement for target with the Override
// flag and the target link-layer address option, from src to dst, hop
// limit 255, in an Ethernet frame sent to ethDst.
func naFrame(mac net.HardwareAddr, target, dst netip.Addr, ethDst net.HardwareAddr, solicited bool) ([]byte, error) {
	na := &ndp.NeighborAdvertisement{
		Solicited:     solicited,
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	msg, err := ndp.MarshalMessageChecksum(na, target, dst)
	if err != nil {
		return nil, err
	}
	pkt := make([]byte, ipv6HeaderLen+len(msg))
	pkt[0] = 6 << 4
	binary.BigEndian.PutUint16(pkt[4:6], uint16(len(msg)))
	pkt[6], pkt[7] = protoICMPv6, ndpHopLimit
	s, d := target.As16(), dst.As16()
	copy(pkt[8:24], s[:])
	copy(pkt[24:40], d[:])
	copy(pkt[40:], msg)
	return ethernetFrame(ethDst, mac, etherTypeIPv6, pkt), nil
}

// reply returns the answer to q from an interface whose address is mac:
// a unicast ARP reply, a solicited NA unicast to the solicitor, or, for a
// duplicate address detection probe, an NA to all nodes.
func (q query) reply(mac net.HardwareAddr) ([]byte, error) {
	if q.target.Is4() {
		return arpFrame(arp.OperationReply, mac, q.target, q.ethSrc, q.arpSenderHW, q.arpSenderIP)
	}
	if q.nsSrc.IsUnspecified() { // RFC 4861 7.2.4: answer DAD to all nodes, S clear
		return naFrame(mac, q.target, allNodes, multicastMAC(allNodes), false)
	}
	return naFrame(mac, q.target, q.nsSrc, q.ethSrc, true)
}

// announcement returns the gratuitous frame for addr: a broadcast ARP
// request with sender IP = target IP = addr, or an unsolicited NA (Override
// set, Solicited clear) to all nodes.
func announcement(mac net.HardwareAddr, addr netip.Addr) ([]byte, error) {
	if addr.Is4() {
		return arpFrame(arp.OperationRequest, mac, addr, broadcastMAC, zeroMAC, addr)
	}
	return naFrame(mac, addr, allNodes, multicastMAC(allNodes), false)
}
