package l2test_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lbkit/lbkit/l2/l2test"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hosts A and B.
var macA, macB = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}, net.HardwareAddr{2, 0, 0, 0, 0, 0xb}

var v4A, v4B, v6B = netip.MustParseAddr("172.18.0.10"), netip.MustParseAddr("172.18.0.11"), netip.MustParseAddr("2001:db8:dead:beef::b")

func newHost(t *testing.T, s *l2test.Segment, mac net.HardwareAddr, addrs ...netip.Addr) *l2test.Host {
	t.Helper()
	h, err := l2test.NewHost(s, mac, addrs...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// Hosts answer for their own addresses, as kernels do.
func TestHostResolvesHost(t *testing.T) {
	var s l2test.Segment
	a := newHost(t, &s, macA, v4A)
	newHost(t, &s, macB, v4B, v6B)
	noV4 := newHost(t, &s, net.HardwareAddr{2, 0, 0, 0, 0, 0xc}) // asks from 0.0.0.0 and fe80::
	llB := netip.MustParseAddr("fe80::ff:fe00:b")
	for _, tc := range []struct {
		name string
		from *l2test.Host
		addr netip.Addr
	}{
		{"ARP", a, v4B},
		{"ARP mapped", a, netip.AddrFrom16(v4B.As16())},
		{"ARP probe", noV4, v4B},
		{"NDP from link-local", a, v6B},
		{"NDP link-local", a, llB},
		{"NDP from a host without addresses", noV4, v6B},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mac, err := tc.from.Resolve(context.Background(), tc.addr, 5*time.Second)
			require.NoError(t, err)
			assert.Equal(t, macB, mac)
		})
	}
	assert.Empty(t, a.Announcements(), "replies are not announcements")
}

func TestHostResolveNoReply(t *testing.T) {
	var s l2test.Segment
	a := newHost(t, &s, macA, v4A)
	newHost(t, &s, macB, v4B)
	for _, tc := range []struct {
		addr netip.Addr
		msg  string
	}{
		{netip.MustParseAddr("172.18.0.99"), "l2test: ARP who-has 172.18.0.99: no reply within 20ms"},
		{netip.MustParseAddr("2001:db8::99"), "l2test: NDP who-has 2001:db8::99: no reply within 20ms"},
	} {
		mac, err := a.Resolve(context.Background(), tc.addr, 20*time.Millisecond)
		assert.ErrorIs(t, err, l2test.ErrNoReply)
		assert.EqualError(t, err, tc.msg)
		assert.Nil(t, mac)
	}
}

func TestHostResolveContext(t *testing.T) {
	var s l2test.Segment
	a := newHost(t, &s, macA, v4A)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := a.Resolve(ctx, v4B, 0)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, l2test.ErrNoReply)

	seen, err := a.WaitAnnouncements(ctx, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, seen)
}

func TestHostClose(t *testing.T) {
	var s l2test.Segment
	a := newHost(t, &s, macA, v4A)
	errc := make(chan error)
	go func() {
		_, err := a.Resolve(context.Background(), v4B, 0)
		errc <- err
	}()
	require.Eventually(t, func() bool { return s.Ports() == 1 }, time.Second, time.Millisecond)
	require.NoError(t, a.Close())
	assert.ErrorIs(t, <-errc, net.ErrClosed)
	assert.NoError(t, a.Close())
	assert.Zero(t, s.Ports())
	_, err := a.WaitAnnouncements(context.Background(), 1)
	assert.ErrorIs(t, err, net.ErrClosed)
	_, err = a.Resolve(context.Background(), v4B, time.Second)
	assert.ErrorIs(t, err, net.ErrClosed)
}

func TestHostInvalid(t *testing.T) {
	var s l2test.Segment
	for name, tc := range map[string]struct {
		mac  net.HardwareAddr
		addr netip.Addr
	}{
		"short MAC":     {net.HardwareAddr{2, 0, 0}, v4A},
		"multicast MAC": {net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}, v4A},
		"zero address":  {macA, netip.Addr{}},
		"unspecified":   {macA, netip.IPv6Unspecified()},
		"multicast":     {macA, netip.MustParseAddr("ff02::1")},
		"zone":          {macA, netip.MustParseAddr("fe80::1%eth0")},
	} {
		t.Run(name, func(t *testing.T) {
			h, err := l2test.NewHost(&s, tc.mac, tc.addr)
			assert.ErrorIs(t, err, l2test.ErrInvalid)
			assert.Nil(t, h)
			assert.Zero(t, s.Ports(), "nothing attached")
		})
	}
	a := newHost(t, &s, macA, v4A)
	for _, addr := range []netip.Addr{{}, netip.IPv4Unspecified(), netip.MustParseAddr("224.0.0.1")} {
		_, err := a.Resolve(context.Background(), addr, time.Second)
		assert.ErrorIs(t, err, l2test.ErrInvalid, addr)
	}
}

// A host notes gratuitous ARP and unsolicited advertisements, and ignores
// what it cannot parse.
func TestHostAnnouncements(t *testing.T) {
	var s l2test.Segment
	a := newHost(t, &s, macA, v4A)
	wire := s.Attach()
	send := func(f []byte) {
		t.Helper()
		_, err := wire.WriteTo(f, nil)
		require.NoError(t, err)
	}
	svc4, svc6 := netip.MustParseAddr("172.18.255.201"), netip.MustParseAddr("2001:db8:dead:beef::111")
	send([]byte{1, 2, 3})
	send(ethFrame(t, ethernet.Broadcast, ethernet.EtherTypeARP, []byte{0, 1, 8}))
	send(ethFrame(t, ethernet.Broadcast, ethernet.EtherTypeIPv6, make([]byte, 60)))
	send(arpPacket(t, arp.OperationRequest, svc4, svc4))                               // gratuitous request
	send(arpPacket(t, arp.OperationReply, svc4, svc4))                                 // gratuitous reply
	send(arpPacket(t, arp.OperationReply, svc4, v4A))                                  // unsolicited reply: neither
	send(naPacket(t, &ndp.NeighborAdvertisement{Override: true, TargetAddress: svc6})) // no TLLA: Ethernet source
	send(naPacket(t, &ndp.NeighborAdvertisement{Solicited: true, TargetAddress: svc6}))
	want := []l2test.Announcement{{svc4, macB}, {svc4, macB}, {svc6, macB}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seen, err := a.WaitAnnouncements(ctx, len(want))
	require.NoError(t, err)
	assert.Equal(t, want, seen)
	// The host handles frames in order: a last query proves it saw them all.
	newHost(t, &s, net.HardwareAddr{2, 0, 0, 0, 0, 0xd}, v4B)
	_, err = a.Resolve(context.Background(), v4B, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, want, a.Announcements(), "nothing else counted")
	assert.Equal(t, "172.18.255.201 is-at 02:00:00:00:00:0b", want[0].String())
}

// Concurrent resolutions of one address all get the answer.
func TestHostConcurrentResolve(t *testing.T) {
	var s l2test.Segment
	a := newHost(t, &s, macA, v4A)
	newHost(t, &s, macB, v4B, v6B)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			addr := v4B
			if i%2 == 1 {
				addr = v6B
			}
			mac, err := a.Resolve(context.Background(), addr, 5*time.Second)
			assert.NoError(t, err)
			assert.Equal(t, macB, mac)
		})
	}
	wg.Wait()
}

func ethFrame(t *testing.T, dst net.HardwareAddr, et ethernet.EtherType, payload []byte) []byte {
	t.Helper()
	f, err := (&ethernet.Frame{Destination: dst, Source: macB, EtherType: et, Payload: payload}).MarshalBinary()
	require.NoError(t, err)
	return f
}

func arpPacket(t *testing.T, op arp.Operation, sender, target netip.Addr) []byte {
	t.Helper()
	p, err := arp.NewPacket(op, macB, sender, ethernet.Broadcast, target)
	require.NoError(t, err)
	b, err := p.MarshalBinary()
	require.NoError(t, err)
	return ethFrame(t, ethernet.Broadcast, ethernet.EtherTypeARP, b)
}

// naPacket returns na from fe80::b to ff02::1 in a frame.
func naPacket(t *testing.T, na *ndp.NeighborAdvertisement) []byte {
	t.Helper()
	src, dst := netip.MustParseAddr("fe80::b"), netip.IPv6LinkLocalAllNodes()
	msg, err := ndp.MarshalMessageChecksum(na, src, dst)
	require.NoError(t, err)
	pkt := make([]byte, 40, 40+len(msg))
	pkt[0], pkt[5], pkt[6], pkt[7] = 0x60, byte(len(msg)), 58, 255
	s, d := src.As16(), dst.As16()
	copy(pkt[8:24], s[:])
	copy(pkt[24:40], d[:])
	return ethFrame(t, net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}, ethernet.EtherTypeIPv6, append(pkt, msg...))
}
