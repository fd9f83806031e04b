package l2

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lbkit/lbkit/l2/l2test"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
)

// A fakeConn is the announcer's port on an in-memory segment
// (l2test.Port) that also records what the announcer writes, when, and the
// groups it joins and leaves: tests inject received frames with deliver and
// read what the announcer wrote with sent.
type fakeConn struct {
	*l2test.Port              // the announcer's end
	wire         *l2test.Port // the clients' end
	reads        atomic.Int64 // ReadFrom calls: one more than the frames handled

	mu     sync.Mutex
	out    []sentFrame
	groups []string // "+group" / "-group" in order
}

type sentFrame struct {
	at    time.Time
	frame []byte
}

func newFakeConn() *fakeConn {
	seg := &l2test.Segment{Queue: 1024}
	return &fakeConn{Port: seg.Attach(), wire: seg.Attach()}
}

// deliver hands frame to the announcer's end. The queue holds 1024 frames,
// more than any test sends unread; it panics if one is dropped.
func (c *fakeConn) deliver(frame []byte) {
	dropped := c.Dropped()
	if _, err := c.wire.WriteTo(frame, nil); err != nil {
		panic(err)
	}
	if c.Dropped() != dropped {
		panic("fakeConn: queue full")
	}
}

func (c *fakeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.reads.Add(1)
	return c.Port.ReadFrom(b)
}

func (c *fakeConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	n, err := c.Port.WriteTo(b, addr) // fails once closed
	if err != nil {
		return n, err
	}
	c.mu.Lock()
	c.out = append(c.out, sentFrame{at: time.Now(), frame: slices.Clone(b)})
	c.mu.Unlock()
	return n, nil
}

func (c *fakeConn) sent() []sentFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.out)
}

func (c *fakeConn) reset() {
	c.mu.Lock()
	c.out = nil
	c.mu.Unlock()
}

func (c *fakeConn) JoinGroup(g netip.Addr) error  { return c.group("+", g) }
func (c *fakeConn) LeaveGroup(g netip.Addr) error { return c.group("-", g) }

func (c *fakeConn) group(op string, g netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups = append(c.groups, op+g.String())
	return nil
}

func (c *fakeConn) groupLog() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.groups)
}

// Frame builders for what clients send.

var (
	nodeMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xcc}
	clientV4  = netip.MustParseAddr("172.18.0.10")
	clientV6  = netip.MustParseAddr("2001:db8:dead:beef::cc")
	svcV4     = netip.MustParseAddr("172.18.255.201")
	svcV6     = netip.MustParseAddr("2001:db8:dead:beef::111")
)

func arpRequest(ethDst net.HardwareAddr, senderIP, target netip.Addr) []byte {
	f, err := arpFrame(arp.OperationRequest, clientMAC, senderIP, ethDst, zeroMAC, target)
	if err != nil {
		panic(err)
	}
	return f
}

// nsOpts describes a neighbour solicitation to build.
type nsOpts struct {
	src, dst   netip.Addr // IPv6; dst invalid: the target's solicited-node group
	target     netip.Addr
	slla       bool
	hopLimit   uint8 // 0: 255
	badSum     bool
	ethDst     net.HardwareAddr // nil: derived from dst
	extraBytes int              // Ethernet padding after the packet
}

func nsFrame(o nsOpts) []byte {
	if !o.dst.IsValid() {
		o.dst, _ = ndp.SolicitedNodeMulticast(o.target)
	}
	ns := &ndp.NeighborSolicitation{TargetAddress: o.target}
	if o.target.Is4In6() { // ndp refuses to marshal it: patch it in below
		ns.TargetAddress = svcV6
	}
	if o.slla {
		ns.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: clientMAC}}
	}
	msg, err := ndp.MarshalMessageChecksum(ns, o.src, o.dst)
	if err != nil {
		panic(err)
	}
	t := o.target.As16()
	copy(msg[8:24], t[:])
	msg[2], msg[3] = 0, 0
	binary.BigEndian.PutUint16(msg[2:4], checksum(o.src, o.dst, msg))
	if o.badSum {
		msg[2] ^= 0xff
	}
	pkt := make([]byte, ipv6HeaderLen+len(msg)+o.extraBytes)
	pkt[0] = 0x60
	binary.BigEndian.PutUint16(pkt[4:6], uint16(len(msg)))
	pkt[6], pkt[7] = protoICMPv6, 255
	if o.hopLimit != 0 {
		pkt[7] = o.hopLimit
	}
	s, d := o.src.As16(), o.dst.As16()
	copy(pkt[8:], s[:])
	copy(pkt[24:], d[:])
	copy(pkt[40:], msg)
	ethDst := o.ethDst
	if ethDst == nil {
		ethDst = nodeMAC
		if o.dst.IsMulticast() {
			ethDst = multicastMAC(o.dst)
		}
	}
	return ethernetFrame(ethDst, clientMAC, etherTypeIPv6, pkt)
}

// Decoders for what the announcer sends.

type decodedARP struct {
	ethDst, ethSrc net.HardwareAddr
	p              arp.Packet
}

func decodeARP(f []byte) (decodedARP, bool) {
	if len(f) < ethHeaderLen || binary.BigEndian.Uint16(f[12:14]) != etherTypeARP {
		return decodedARP{}, false
	}
	var d decodedARP
	d.ethDst, d.ethSrc = net.HardwareAddr(f[0:6]), net.HardwareAddr(f[6:12])
	if d.p.UnmarshalBinary(f[ethHeaderLen:]) != nil {
		return decodedARP{}, false
	}
	return d, true
}

type decodedNA struct {
	ethDst, ethSrc net.HardwareAddr
	src, dst       netip.Addr
	hopLimit       uint8
	sumOK          bool
	na             *ndp.NeighborAdvertisement
	tlla           net.HardwareAddr
}

func decodeNA(f []byte) (decodedNA, bool) {
	if len(f) < ethHeaderLen+ipv6HeaderLen || binary.BigEndian.Uint16(f[12:14]) != etherTypeIPv6 {
		return decodedNA{}, false
	}
	var d decodedNA
	d.ethDst, d.ethSrc = net.HardwareAddr(f[0:6]), net.HardwareAddr(f[6:12])
	p := f[ethHeaderLen:]
	n := int(binary.BigEndian.Uint16(p[4:6]))
	if p[6] != protoICMPv6 || ipv6HeaderLen+n > len(p) {
		return decodedNA{}, false
	}
	d.hopLimit = p[7]
	d.src = netip.AddrFrom16([16]byte(p[8:24]))
	d.dst = netip.AddrFrom16([16]byte(p[24:40]))
	msg := p[ipv6HeaderLen : ipv6HeaderLen+n]
	d.sumOK = checksum(d.src, d.dst, msg) == 0
	m, err := ndp.ParseMessage(msg)
	if err != nil {
		return decodedNA{}, false
	}
	na, ok := m.(*ndp.NeighborAdvertisement)
	if !ok {
		return decodedNA{}, false
	}
	d.na = na
	for _, o := range na.Options {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
			d.tlla = lla.Addr
		}
	}
	return d, true
}

// subject returns the address a frame the announcer sent speaks for.
func subject(f []byte) (netip.Addr, bool) {
	if d, ok := decodeARP(f); ok {
		return d.p.SenderIP, true
	}
	if d, ok := decodeNA(f); ok {
		return d.na.TargetAddress, true
	}
	return netip.Addr{}, false
}
