package l2

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/mdlayher/arp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// sentinel is an address every test announcer owns: a reply for it after
// other frames proves those frames were handled (and answered or not).
var sentinel = netip.MustParseAddr("172.18.255.254")

const waitFor = 5 * time.Second

// newTestAnnouncer returns an announcer on one fake link that owns
// sentinel, with gratuitous frames off unless cfg asks for them.
func newTestAnnouncer(t *testing.T, cfg Config) (*Announcer, *fakeConn) {
	t.Helper()
	c := newFakeConn()
	if cfg.Gratuitous == (Gratuitous{}) {
		cfg.Gratuitous.Count = -1
	}
	a, err := NewWithLinks(context.Background(), cfg, Link{
		Interface: &net.Interface{Index: 7, Name: "fake0", HardwareAddr: nodeMAC},
		Conn:      c,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	require.NoError(t, a.Announce(context.Background(), announce.Service{Key: "sentinel/svc", Addrs: []netip.Addr{sentinel}}))
	return a, c
}

// exchange delivers frames, then an ARP request for sentinel, and returns
// what the announcer wrote before the sentinel's reply.
func exchange(t *testing.T, c *fakeConn, frames ...[]byte) [][]byte {
	t.Helper()
	c.reset()
	for _, f := range frames {
		c.deliver(f)
	}
	c.deliver(arpRequest(broadcastMAC, clientV4, sentinel))
	var out [][]byte
	require.Eventually(t, func() bool {
		out = out[:0]
		for _, s := range c.sent() {
			if ad, ok := subject(s.frame); ok && ad == sentinel {
				if d, ok := decodeARP(s.frame); ok && d.p.Operation == arp.OperationReply {
					return true
				}
			}
			out = append(out, s.frame)
		}
		return false
	}, waitFor, time.Millisecond)
	return out
}

func announceT(t *testing.T, a *Announcer, key string, addrs ...netip.Addr) {
	t.Helper()
	require.NoError(t, a.Announce(context.Background(), announce.Service{Key: key, Addrs: addrs}))
}

func TestARPReply(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{})
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	tests := []struct {
		name     string
		frame    []byte
		senderIP netip.Addr
	}{
		{"broadcast request", arpRequest(broadcastMAC, clientV4, svcV4), clientV4},
		{"unicast re-validation probe", arpRequest(nodeMAC, clientV4, svcV4), clientV4},
		{"RFC 5227 probe from 0.0.0.0", arpRequest(broadcastMAC, netip.IPv4Unspecified(), svcV4), netip.IPv4Unspecified()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := exchange(t, c, tt.frame)
			require.Len(t, out, 1)
			d, ok := decodeARP(out[0])
			require.True(t, ok)
			assert.Equal(t, clientMAC, d.ethDst, "unicast to the requester")
			assert.Equal(t, nodeMAC, d.ethSrc)
			assert.Equal(t, arp.OperationReply, d.p.Operation)
			assert.Equal(t, nodeMAC, d.p.SenderHardwareAddr)
			assert.Equal(t, svcV4, d.p.SenderIP)
			assert.Equal(t, clientMAC, d.p.TargetHardwareAddr)
			assert.Equal(t, tt.senderIP, d.p.TargetIP)
			assert.GreaterOrEqual(t, len(out[0]), ethMinFrame)
		})
	}
}

func TestNDPReply(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{})
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	tests := []struct {
		name      string
		ns        nsOpts
		dst       netip.Addr
		ethDst    net.HardwareAddr
		solicited bool
	}{
		{"multicast with source LL option", nsOpts{src: clientV6, target: svcV6, slla: true}, clientV6, clientMAC, true},
		{"multicast without source LL option", nsOpts{src: clientV6, target: svcV6}, clientV6, clientMAC, true},
		{"unicast NUD probe to the address", nsOpts{src: clientV6, dst: svcV6, target: svcV6}, clientV6, clientMAC, true},
		{"unicast NUD probe with option", nsOpts{src: clientV6, dst: svcV6, target: svcV6, slla: true}, clientV6, clientMAC, true},
		{"link-local solicitor", nsOpts{src: netip.MustParseAddr("fe80::cc"), target: svcV6}, netip.MustParseAddr("fe80::cc"), clientMAC, true},
		{"padded frame", nsOpts{src: clientV6, target: svcV6, extraBytes: 10}, clientV6, clientMAC, true},
		{"DAD probe: answered to all nodes", nsOpts{src: netip.IPv6Unspecified(), target: svcV6}, allNodes, multicastMAC(allNodes), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := exchange(t, c, nsFrame(tt.ns))
			require.Len(t, out, 1)
			d, ok := decodeNA(out[0])
			require.True(t, ok)
			assert.Equal(t, tt.ethDst, d.ethDst)
			assert.Equal(t, nodeMAC, d.ethSrc)
			assert.Equal(t, svcV6, d.src, "sourced from the service address")
			assert.Equal(t, tt.dst, d.dst)
			assert.EqualValues(t, 255, d.hopLimit)
			assert.True(t, d.sumOK, "checksum")
			assert.Equal(t, svcV6, d.na.TargetAddress)
			assert.Equal(t, tt.solicited, d.na.Solicited)
			assert.True(t, d.na.Override)
			assert.False(t, d.na.Router)
			assert.Equal(t, nodeMAC, d.tlla, "target link-layer option")
		})
	}
}

func TestIgnored(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{})
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	unowned4 := netip.MustParseAddr("172.18.255.202")
	unowned6 := netip.MustParseAddr("2001:db8:dead:beef::112")
	otherMAC := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}
	reply, _ := arpFrame(arp.OperationReply, clientMAC, clientV4, nodeMAC, nodeMAC, svcV4)
	garp, _ := arpFrame(arp.OperationRequest, clientMAC, svcV4, broadcastMAC, zeroMAC, svcV4)
	fromSelf, _ := arpFrame(arp.OperationRequest, nodeMAC, clientV4, broadcastMAC, zeroMAC, svcV4)
	wrongHW := arpRequest(broadcastMAC, clientV4, svcV4)
	wrongHW[ethHeaderLen+1] = 6 // hardware type 6 (IEEE 802)
	tests := []struct {
		name  string
		frame []byte
	}{
		{"ARP for unowned address", arpRequest(broadcastMAC, clientV4, unowned4)},
		{"ARP reply", reply},
		{"gratuitous ARP of another node", garp},
		{"ARP to another MAC", arpRequest(otherMAC, clientV4, svcV4)},
		{"our own frame", fromSelf},
		{"ARP with wrong hardware type", wrongHW},
		{"truncated ARP", arpRequest(broadcastMAC, clientV4, svcV4)[:ethHeaderLen+20]},
		{"runt", []byte{1, 2, 3}},
		{"NS for unowned address", nsFrame(nsOpts{src: clientV6, target: unowned6})},
		{"NS for IPv4 address's v6 twin", nsFrame(nsOpts{src: clientV6, target: netip.AddrFrom16(svcV4.As16())})},
		{"NS with bad checksum", nsFrame(nsOpts{src: clientV6, target: svcV6, badSum: true})},
		{"NS with hop limit 64", nsFrame(nsOpts{src: clientV6, target: svcV6, hopLimit: 64})},
		{"NS to all nodes", nsFrame(nsOpts{src: clientV6, dst: allNodes, target: svcV6})},
		{"NS to another unicast address", nsFrame(nsOpts{src: clientV6, dst: clientV6, target: svcV6})},
		{"NS with wrong Ethernet group", nsFrame(nsOpts{src: clientV6, target: svcV6, ethDst: multicastMAC(allNodes)})},
		{"NS unicast to another MAC", nsFrame(nsOpts{src: clientV6, dst: svcV6, target: svcV6, ethDst: otherMAC})},
		{"DAD probe with source LL option", nsFrame(nsOpts{src: netip.IPv6Unspecified(), target: svcV6, slla: true})},
		{"DAD probe unicast", nsFrame(nsOpts{src: netip.IPv6Unspecified(), dst: svcV6, target: svcV6})},
		{"truncated NS", nsFrame(nsOpts{src: clientV6, target: svcV6})[:ethHeaderLen+ipv6HeaderLen+10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Empty(t, exchange(t, c, tt.frame))
		})
	}
}

func TestGroups(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{})
	// ::111 and 1::111 share the solicited-node group ff02::1:ff00:111.
	twin := netip.MustParseAddr("2001:db8:dead:beef:1::111")
	other := netip.MustParseAddr("2001:db8:dead:beef::222")
	announceT(t, a, "a/one", svcV4, svcV6)
	announceT(t, a, "a/two", twin, other)
	assert.Equal(t, []string{"+ff02::1:ff00:111", "+ff02::1:ff00:222"}, c.groupLog())
	require.NoError(t, a.Withdraw(context.Background(), "a/one"))
	assert.Len(t, c.groupLog(), 2, "group still needed by 1::111")
	announceT(t, a, "a/two", twin) // drops ::222
	require.NoError(t, a.Withdraw(context.Background(), "a/two"))
	assert.Equal(t, []string{"+ff02::1:ff00:111", "+ff02::1:ff00:222", "-ff02::1:ff00:222", "-ff02::1:ff00:111"}, c.groupLog())
}

func TestGratuitous(t *testing.T) {
	const interval = 20 * time.Millisecond
	a, c := newTestAnnouncer(t, Config{Gratuitous: Gratuitous{Count: 3, Interval: interval}})
	require.Eventually(t, func() bool { return len(c.sent()) == 3 }, waitFor, time.Millisecond, "sentinel's burst")
	time.Sleep(2 * interval)
	c.reset()
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	require.Eventually(t, func() bool { return len(c.sent()) >= 6 }, waitFor, time.Millisecond)
	time.Sleep(3 * interval) // nothing more may come
	sent := c.sent()
	require.Len(t, sent, 6, "3 per address")
	var v4, v6 []time.Time
	for _, s := range sent {
		if d, ok := decodeARP(s.frame); ok {
			assert.Equal(t, broadcastMAC, d.ethDst)
			assert.Equal(t, arp.OperationRequest, d.p.Operation, "gratuitous ARP is a request")
			assert.Equal(t, svcV4, d.p.SenderIP)
			assert.Equal(t, svcV4, d.p.TargetIP)
			assert.Equal(t, nodeMAC, d.p.SenderHardwareAddr)
			v4 = append(v4, s.at)
			continue
		}
		d, ok := decodeNA(s.frame)
		require.True(t, ok, "frame is ARP or NA")
		assert.Equal(t, multicastMAC(allNodes), d.ethDst)
		assert.Equal(t, allNodes, d.dst)
		assert.Equal(t, svcV6, d.src)
		assert.EqualValues(t, 255, d.hopLimit)
		assert.True(t, d.sumOK)
		assert.True(t, d.na.Override)
		assert.False(t, d.na.Solicited)
		assert.Equal(t, nodeMAC, d.tlla)
		v6 = append(v6, s.at)
	}
	for _, times := range [][]time.Time{v4, v6} {
		require.Len(t, times, 3)
		for i := 1; i < len(times); i++ {
			assert.GreaterOrEqual(t, times[i].Sub(times[i-1]), interval, "spaced by the interval")
		}
	}
}

func TestGratuitousStopsOnWithdraw(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{Gratuitous: Gratuitous{Count: 1000, Interval: time.Millisecond}})
	announceT(t, a, "batuu/deathstar", svcV4)
	require.Eventually(t, func() bool { return len(c.sent()) > 10 }, waitFor, time.Millisecond)
	require.NoError(t, a.Withdraw(context.Background(), "batuu/deathstar"))
	require.NoError(t, a.Withdraw(context.Background(), "sentinel/svc"))
	n := len(c.sent())
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, n, len(c.sent()), "nothing sent after Withdraw returned")
}

func TestWithdrawSilence(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{})
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	require.Len(t, exchange(t, c, arpRequest(broadcastMAC, clientV4, svcV4)), 1)
	require.NoError(t, a.Withdraw(context.Background(), "batuu/deathstar"))
	assert.Empty(t, exchange(t, c, arpRequest(broadcastMAC, clientV4, svcV4), nsFrame(nsOpts{src: clientV6, target: svcV6})))
	assert.Equal(t, []netip.Addr{sentinel}, a.Answering())

	// Announce is an upsert: addresses dropped from the list go silent.
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	announceT(t, a, "batuu/deathstar", svcV6)
	out := exchange(t, c, arpRequest(broadcastMAC, clientV4, svcV4), nsFrame(nsOpts{src: clientV6, target: svcV6}))
	require.Len(t, out, 1)
	_, isNA := decodeNA(out[0])
	assert.True(t, isNA)
	assert.NoError(t, a.Withdraw(context.Background(), "never/announced"))
}

func TestSharedAddress(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{})
	announceT(t, a, "ns/http", svcV4)
	announceT(t, a, "ns/dns", svcV4)
	require.NoError(t, a.Withdraw(context.Background(), "ns/http"))
	assert.Len(t, exchange(t, c, arpRequest(broadcastMAC, clientV4, svcV4)), 1, "still owned by ns/dns")
	require.NoError(t, a.Withdraw(context.Background(), "ns/dns"))
	assert.Empty(t, exchange(t, c, arpRequest(broadcastMAC, clientV4, svcV4)))
}

func TestAnnounceInvalid(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{})
	tests := []struct {
		name string
		s    announce.Service
	}{
		{"empty key", announce.Service{Addrs: []netip.Addr{svcV4}}},
		{"zero address", announce.Service{Key: "k", Addrs: []netip.Addr{svcV4, {}}}},
		{"unspecified", announce.Service{Key: "k", Addrs: []netip.Addr{svcV4, netip.IPv4Unspecified()}}},
		{"multicast", announce.Service{Key: "k", Addrs: []netip.Addr{svcV4, netip.MustParseAddr("ff02::1")}}},
		{"loopback", announce.Service{Key: "k", Addrs: []netip.Addr{svcV4, netip.MustParseAddr("127.0.0.1")}}},
		{"broadcast", announce.Service{Key: "k", Addrs: []netip.Addr{svcV4, netip.MustParseAddr("255.255.255.255")}}},
		{"zone", announce.Service{Key: "k", Addrs: []netip.Addr{svcV4, netip.MustParseAddr("fe80::1%eth0")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.Announce(context.Background(), tt.s)
			assert.ErrorIs(t, err, ErrInvalidService)
			assert.Equal(t, []netip.Addr{sentinel}, a.Answering(), "no state change")
			assert.Empty(t, exchange(t, c, arpRequest(broadcastMAC, clientV4, svcV4)))
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, a.Announce(ctx, announce.Service{Key: "k", Addrs: []netip.Addr{svcV4}}), context.Canceled)
	assert.ErrorIs(t, a.Withdraw(ctx, "sentinel/svc"), context.Canceled)
}

func TestMappedAddress(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{})
	announceT(t, a, "k", netip.AddrFrom16(svcV4.As16()))
	assert.Equal(t, []netip.Addr{svcV4, sentinel}, a.Answering())
	assert.Len(t, exchange(t, c, arpRequest(broadcastMAC, clientV4, svcV4)), 1)
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"bad regexp", Config{Interfaces: []string{"eth("}}},
		{"empty pattern", Config{Interfaces: []string{""}}},
		{"negative interval", Config{Gratuitous: Gratuitous{Interval: -time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWithLinks(context.Background(), tt.cfg)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			_, err = New(context.Background(), tt.cfg)
			assert.ErrorIs(t, err, ErrInvalidConfig)
		})
	}
	_, err := NewWithLinks(context.Background(), Config{}, Link{Interface: &net.Interface{Name: "x"}, Conn: newFakeConn()})
	assert.ErrorIs(t, err, ErrInvalidConfig, "no MAC")
	_, err = NewWithLinks(context.Background(), Config{}, Link{Interface: &net.Interface{Name: "x", HardwareAddr: nodeMAC}})
	assert.ErrorIs(t, err, ErrInvalidConfig, "no conn")
	ifi := &net.Interface{Index: 3, Name: "x", HardwareAddr: nodeMAC}
	_, err = NewWithLinks(context.Background(), Config{}, Link{ifi, newFakeConn()}, Link{ifi, newFakeConn()})
	assert.ErrorIs(t, err, ErrInvalidConfig, "same interface twice")
}

func TestClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a, c := newTestAnnouncer(t, Config{Gratuitous: Gratuitous{Count: 1000, Interval: time.Millisecond}})
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	require.NoError(t, a.Close())
	require.NoError(t, a.Close(), "second Close")
	assert.ErrorIs(t, a.Announce(context.Background(), announce.Service{Key: "k", Addrs: []netip.Addr{svcV4}}), ErrClosed)
	assert.ErrorIs(t, a.Withdraw(context.Background(), "k"), ErrClosed)
	assert.Empty(t, a.Answering())
	assert.Empty(t, a.Interfaces())
	select {
	case <-c.Done():
	default:
		t.Error("link conn not closed")
	}
}

// ctx bounds the start only: cancelling it later changes nothing, and a
// done ctx fails the start.
func TestContextBoundsStartOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := newFakeConn()
	a, err := NewWithLinks(ctx, Config{Gratuitous: Gratuitous{Count: -1}},
		Link{Interface: &net.Interface{Index: 1, Name: "f", HardwareAddr: nodeMAC}, Conn: c})
	require.NoError(t, err)
	defer a.Close()
	cancel()
	time.Sleep(10 * time.Millisecond)
	announceT(t, a, "sentinel/svc", sentinel)
	require.Len(t, exchange(t, c), 0, "still answering after ctx is done")

	_, err = NewWithLinks(ctx, Config{}, Link{Interface: &net.Interface{Index: 1, Name: "f", HardwareAddr: nodeMAC}, Conn: newFakeConn()})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = New(ctx, Config{})
	assert.ErrorIs(t, err, context.Canceled)
}

// A failing link is dropped; the others keep answering.
func TestLinkFailure(t *testing.T) {
	bad, good := newFakeConn(), newFakeConn()
	a, err := NewWithLinks(context.Background(), Config{Gratuitous: Gratuitous{Count: -1}},
		Link{Interface: &net.Interface{Index: 1, Name: "bad0", HardwareAddr: nodeMAC}, Conn: bad},
		Link{Interface: &net.Interface{Index: 2, Name: "good0", HardwareAddr: nodeMAC}, Conn: good},
	)
	require.NoError(t, err)
	defer a.Close()
	assert.Equal(t, []string{"bad0", "good0"}, a.Interfaces())
	require.NoError(t, bad.Close()) // reads now fail
	require.Eventually(t, func() bool { return len(a.Interfaces()) == 1 }, waitFor, time.Millisecond)
	assert.Equal(t, []string{"good0"}, a.Interfaces())
	announceT(t, a, "sentinel/svc", sentinel)
	assert.Empty(t, exchange(t, good))
}

// A gratuitous ARP of another host for an address this node answers for
// is not answered but logged, once per period.
func TestConflictWarning(t *testing.T) {
	var logs syncBuffer
	a, c := newTestAnnouncer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	announceT(t, a, "batuu/deathstar", svcV4)
	garp, err := arpFrame(arp.OperationRequest, clientMAC, svcV4, broadcastMAC, zeroMAC, svcV4)
	require.NoError(t, err)
	other, err := arpFrame(arp.OperationRequest, clientMAC, clientV4, broadcastMAC, zeroMAC, clientV4)
	require.NoError(t, err)
	assert.Empty(t, exchange(t, c, garp, garp, other))
	assert.Equal(t, 1, strings.Count(logs.String(), "another host announces"), logs.String())
	assert.Contains(t, logs.String(), "addr="+svcV4.String())
	assert.Contains(t, logs.String(), "mac="+clientMAC.String())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
