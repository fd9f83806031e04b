package l2test

import (
	"encoding"
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

const (
	ipv6HeaderLen = 40
	protoICMPv6   = 58
)

var allNodes = netip.IPv6LinkLocalAllNodes()

// ethFrame returns payload, marshalled, in an Ethernet frame.
func ethFrame(dst, src net.HardwareAddr, et ethernet.EtherType, payload encoding.BinaryMarshaler) ([]byte, error) {
	b, err := payload.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return (&ethernet.Frame{Destination: dst, Source: src, EtherType: et, Payload: b}).MarshalBinary()
}

// raw is a payload already marshalled.
type raw []byte

func (r raw) MarshalBinary() ([]byte, error) { return r, nil }

// arpFrame returns an ARP packet in an Ethernet frame to ethDst.
func arpFrame(op arp.Operation, ethDst, srcMAC net.HardwareAddr, srcIP netip.Addr, dstMAC net.HardwareAddr, dstIP netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(op, srcMAC, srcIP, dstMAC, dstIP)
	if err != nil {
		return nil, err
	}
	return ethFrame(ethDst, srcMAC, ethernet.EtherTypeARP, p)
}

// ndpFrame returns m in an IPv6 packet, hop limit 255, in an Ethernet frame.
func ndpFrame(m ndp.Message, ethDst, ethSrc net.HardwareAddr, src, dst netip.Addr) ([]byte, error) {
	msg, err := ndp.MarshalMessageChecksum(m, src, dst)
	if err != nil {
		return nil, err
	}
	pkt := make([]byte, ipv6HeaderLen+len(msg))
	pkt[0] = 0x60
	binary.BigEndian.PutUint16(pkt[4:6], uint16(len(msg)))
	pkt[6], pkt[7] = protoICMPv6, ndp.HopLimit
	s, d := src.As16(), dst.As16()
	copy(pkt[8:24], s[:])
	copy(pkt[24:40], d[:])
	copy(pkt[40:], msg)
	return ethFrame(ethDst, ethSrc, ethernet.EtherTypeIPv6, raw(pkt))
}

// parseNDP returns the NDP message in an IPv6 packet, with its addresses.
// It does not verify the checksum.
func parseNDP(p []byte) (m ndp.Message, src, dst netip.Addr, ok bool) {
	if len(p) < ipv6HeaderLen || p[0]>>4 != 6 || p[6] != protoICMPv6 || p[7] != ndp.HopLimit {
		return nil, src, dst, false
	}
	n := int(binary.BigEndian.Uint16(p[4:6]))
	if ipv6HeaderLen+n > len(p) {
		return nil, src, dst, false
	}
	m, err := ndp.ParseMessage(p[ipv6HeaderLen : ipv6HeaderLen+n])
	if err != nil {
		return nil, src, dst, false
	}
	return m, netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40])), true
}

// multicastMAC returns the Ethernet address of IPv6 multicast group g.
func multicastMAC(g netip.Addr) net.HardwareAddr {
	b := g.As16()
	return net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// linkLocal returns the EUI-64 link-local address of mac.
func linkLocal(mac net.HardwareAddr) netip.Addr {
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	copy(b[8:11], mac[0:3])
	b[8] ^= 0x02
	b[11], b[12] = 0xff, 0xfe
	copy(b[13:16], mac[3:6])
	return netip.AddrFrom16(b)
}

// lla returns the link-layer address option of direction d in opts.
func lla(opts []ndp.Option, d ndp.Direction) net.HardwareAddr {
	for _, o := range opts {
		if l, ok := o.(*ndp.LinkLayerAddress); ok && l.Direction == d {
			return l.Addr
		}
	}
	return nil
}
