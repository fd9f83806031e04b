package l2

import (
	"errors"
	"net"
	"net/netip"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// queryFilter accepts ARP frames and ICMPv6 neighbour solicitations that
// follow the IPv6 header directly; the kernel drops everything else before
// it reaches user space. It also drops VLAN-tagged frames: the kernel
// strips the tag before packet sockets see the frame (the frame then
// looks untagged), and a tagged request is for the VLAN's interface, not
// for this one.
var queryFilter = mustAssemble([]bpf.Instruction{
	bpf.LoadExtension{Num: bpf.ExtVLANTagPresent},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0, SkipTrue: 8},           // tagged -> drop
	bpf.LoadAbsolute{Off: 12, Size: 2},                                // EtherType
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeARP, SkipTrue: 5},   // -> accept
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeIPv6, SkipFalse: 5}, // -> drop
	bpf.LoadAbsolute{Off: ethHeaderLen + 6, Size: 1},                  // next header
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: protoICMPv6, SkipFalse: 3},   // -> drop
	bpf.LoadAbsolute{Off: ethHeaderLen + ipv6HeaderLen, Size: 1},      // ICMPv6 type
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: 135, SkipFalse: 1},           // -> drop
	bpf.RetConstant{Val: maxFrame},                                    // accept
	bpf.RetConstant{Val: 0},                                           // drop
})

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err)
	}
	return raw
}

// listen opens an AF_PACKET raw socket on ifi that sees ARP and neighbour
// solicitations, including unicast probes for addresses the kernel does
// not hold, and can join solicited-node groups.
func listen(ifi *net.Interface) (net.PacketConn, error) {
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, &packet.Config{Filter: queryFilter})
	if err != nil {
		return nil, err
	}
	return newPacketConn(ifi, c), nil
}

// A packetConn is an AF_PACKET socket that joins IPv6 multicast groups
// both at the link layer (PACKET_ADD_MEMBERSHIP, so that the interface
// accepts the frames) and, best effort, at the IPv6 layer through an
// ICMPv6 socket that never reads (so that the kernel sends MLD reports and
// snooping switches forward the group to this port).
type packetConn struct {
	*packet.Conn
	ifi *net.Interface
	ip6 *ipv6.PacketConn // nil when IPv6 is unavailable
}

func newPacketConn(ifi *net.Interface, c *packet.Conn) *packetConn {
	pc := &packetConn{Conn: c, ifi: ifi}
	// Frames we send would otherwise come back to us (Linux >= 4.20).
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
		})
	}
	if raw, err := net.ListenPacket("ip6:ipv6-icmp", "::"); err == nil {
		p := ipv6.NewPacketConn(raw)
		var f ipv6.ICMPFilter
		f.SetAll(true) // receive nothing
		if p.SetICMPFilter(&f) == nil {
			pc.ip6 = p
		} else {
			_ = raw.Close()
		}
	}
	return pc
}

// JoinGroup implements GroupJoiner.
func (c *packetConn) JoinGroup(group netip.Addr) error {
	if err := c.membership(unix.PACKET_ADD_MEMBERSHIP, group); err != nil {
		return err
	}
	if c.ip6 != nil {
		_ = c.ip6.JoinGroup(c.ifi, &net.IPAddr{IP: group.AsSlice()}) // best effort
	}
	return nil
}

// LeaveGroup implements GroupJoiner.
func (c *packetConn) LeaveGroup(group netip.Addr) error {
	if c.ip6 != nil {
		_ = c.ip6.LeaveGroup(c.ifi, &net.IPAddr{IP: group.AsSlice()})
	}
	return c.membership(unix.PACKET_DROP_MEMBERSHIP, group)
}

func (c *packetConn) membership(opt int, group netip.Addr) error {
	mreq := unix.PacketMreq{Ifindex: int32(c.ifi.Index), Type: unix.PACKET_MR_MULTICAST, Alen: 6}
	copy(mreq.Address[:], multicastMAC(group))
	rc, err := c.Conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptPacketMreq(int(fd), unix.SOL_PACKET, opt, &mreq)
	}); err != nil {
		return err
	}
	return serr
}

// Close closes both sockets.
func (c *packetConn) Close() error {
	var err error
	if c.ip6 != nil {
		err = c.ip6.Close()
	}
	return errors.Join(c.Conn.Close(), err)
}

// isLinkDown reports whether err says the interface went down; the
// socket then stays usable and works again when it comes back up.
func isLinkDown(err error) bool { return errors.Is(err, unix.ENETDOWN) }

// wrapConn gives a caller's *packet.Conn the ability to join groups.
func wrapConn(ifi *net.Interface, conn net.PacketConn) net.PacketConn {
	if c, ok := conn.(*packet.Conn); ok {
		return newPacketConn(ifi, c)
	}
	return conn
}
