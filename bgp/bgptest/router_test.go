package bgptest_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/bgp/bgptest"
	"github.com/lbkit/lbkit/selector"
)

var (
	lo4      = netip.MustParseAddr("127.0.0.1")
	lo4b     = netip.MustParseAddr("127.0.0.2")
	lo6      = netip.MustParseAddr("::1")
	routerID = netip.MustParseAddr("10.255.1.1")
)

const (
	routerASN  = 65000
	speakerASN = 65001
)

func newRouter(t testing.TB, cfg bgptest.Config) *bgptest.Router {
	t.Helper()
	if cfg.ASN == 0 {
		cfg.ASN = routerASN
	}
	if !cfg.RouterID.IsValid() {
		cfg.RouterID = routerID
	}
	r, err := bgptest.NewRouter(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// newSpeaker starts a speaker with AS asn and rules, peered with r from
// local (a loopback address), both families.
func newSpeaker(t testing.TB, r *bgptest.Router, asn uint32, local netip.Addr, cfg bgp.Config) *bgp.Speaker {
	t.Helper()
	cfg.ASN = asn
	cfg.RouterID = local.Next() // distinct per speaker; never the router's
	s, err := bgp.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.AddPeer(context.Background(), bgp.Peer{
		Address: r.Addr(), Port: r.Port(), ASN: r.ASN(), LocalAddress: local, ConnectRetry: time.Second,
		Families: []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}, NextHopIPv6: netip.MustParseAddr("2001:db8:ffff::1"),
	}))
	return s
}

func svc(key string, labels selector.Set, addrs ...string) announce.Service {
	s := announce.Service{Key: key, Labels: labels}
	for _, a := range addrs {
		s.Addrs = append(s.Addrs, netip.MustParseAddr(a))
	}
	return s
}

// wait waits for cond on r's routes, failing t after 20 s.
func wait(t testing.TB, r *bgptest.Router, cond func([]bgptest.Route) bool) []bgptest.Route {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rts, err := r.WaitRoutes(ctx, cond)
	require.NoError(t, err)
	return rts
}

func count(n int) func([]bgptest.Route) bool {
	return func(rts []bgptest.Route) bool { return len(rts) == n }
}

func TestNewRouterInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  bgptest.Config
	}{
		{"asn 0", bgptest.Config{RouterID: routerID}},
		{"no router id", bgptest.Config{ASN: 1}},
		{"v6 router id", bgptest.Config{ASN: 1, RouterID: lo6}},
		{"zero router id", bgptest.Config{ASN: 1, RouterID: netip.IPv4Unspecified()}},
		{"zoned listen addr", bgptest.Config{ASN: 1, RouterID: routerID, ListenAddr: netip.MustParseAddr("fe80::1%lo")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := bgptest.NewRouter(context.Background(), tt.cfg)
			assert.ErrorIs(t, err, bgptest.ErrInvalidConfig)
			assert.Nil(t, r)
		})
	}
}

func TestNewRouterListens(t *testing.T) {
	r := newRouter(t, bgptest.Config{})
	assert.Equal(t, lo4, r.Addr(), "default listen address")
	assert.NotZero(t, r.Port(), "a free port was picked")
	assert.Equal(t, uint32(routerASN), r.ASN())

	// The port is taken now: a router asking for it cannot start.
	_, err := bgptest.NewRouter(context.Background(), bgptest.Config{ASN: 1, RouterID: routerID, ListenPort: r.Port()})
	assert.Error(t, err)

	r6 := newRouter(t, bgptest.Config{ListenAddr: lo6})
	assert.Equal(t, lo6, r6.Addr())
	c, err := net.Dial("tcp", netip.AddrPortFrom(lo6, r6.Port()).String())
	require.NoError(t, err, "the router accepts connections")
	_ = c.Close()
}

func TestPeerErrors(t *testing.T) {
	r := newRouter(t, bgptest.Config{})
	ctx := context.Background()
	good := bgptest.Peer{Address: lo4, ASN: speakerASN}
	require.NoError(t, r.AddPeer(ctx, good))
	assert.ErrorIs(t, r.AddPeer(ctx, good), bgptest.ErrPeerExists)
	assert.ErrorIs(t, r.AddPeer(ctx, bgptest.Peer{ASN: 1}), bgptest.ErrInvalidPeer)
	assert.ErrorIs(t, r.AddPeer(ctx, bgptest.Peer{Address: lo4b}), bgptest.ErrInvalidPeer)
	assert.ErrorIs(t, r.AddPeer(ctx, bgptest.Peer{Address: netip.AddrFrom16(lo4b.As16()), ASN: 1}), bgptest.ErrInvalidPeer, "IPv4-mapped")
	assert.ErrorIs(t, r.AddPeer(ctx, bgptest.Peer{Address: netip.MustParseAddr("fe80::1%lo"), ASN: 1}), bgptest.ErrInvalidPeer, "zoned")
	assert.ErrorIs(t, r.ResetPeer(ctx, lo4b), bgptest.ErrUnknownPeer)
	assert.ErrorIs(t, r.RemovePeer(ctx, lo4b), bgptest.ErrUnknownPeer)

	ps, err := r.Peers(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 1, "failed calls changed nothing")
	assert.Equal(t, lo4, ps[0].Address)
	assert.Equal(t, uint32(speakerASN), ps[0].ASN)
	assert.False(t, ps[0].Established(), ps[0].State)
	assert.Zero(t, ps[0].HoldTime)

	require.NoError(t, r.RemovePeer(ctx, lo4))
	ps, err = r.Peers(ctx)
	require.NoError(t, err)
	assert.Empty(t, ps)

	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "closing twice")
	assert.ErrorIs(t, r.AddPeer(ctx, good), bgptest.ErrClosed)
	assert.ErrorIs(t, r.RemovePeer(ctx, lo4), bgptest.ErrClosed)
	assert.ErrorIs(t, r.ResetPeer(ctx, lo4), bgptest.ErrClosed)
	_, err = r.Peers(ctx)
	assert.ErrorIs(t, err, bgptest.ErrClosed)
	_, err = r.Routes(ctx)
	assert.ErrorIs(t, err, bgptest.ErrClosed)
	_, _, err = r.Lookup(ctx, lo4)
	assert.ErrorIs(t, err, bgptest.ErrClosed)
	_, err = r.WaitRoutes(ctx, count(1))
	assert.ErrorIs(t, err, bgptest.ErrClosed)
}

// TestAttributes: an iBGP session, so that LOCAL_PREF is sent.
func TestAttributes(t *testing.T) {
	r := newRouter(t, bgptest.Config{ASN: speakerASN})
	ctx := context.Background()
	require.NoError(t, r.AddPeer(ctx, bgptest.Peer{Address: lo4, ASN: speakerASN}))
	med, pref := uint32(5), uint32(300)
	s := newSpeaker(t, r, speakerASN, lo4, bgp.Config{Rules: []bgp.Rule{{Attributes: bgp.Attributes{
		Communities: []bgp.Community{bgp.CommunityFrom(65000, 200), bgp.NoExport}, LargeCommunities: []bgp.LargeCommunity{{ASN: 65000, Local1: 1, Local2: 2}}, MED: &med, LocalPref: &pref,
	}}}})
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201", "2001:db8:dead:beef::111")))
	rts := wait(t, r, count(2))

	want := bgptest.Route{
		Prefix: netip.MustParsePrefix("172.18.255.201/32"), NextHop: lo4, From: lo4,
		Communities: []string{"65000:200", "65535:65281"}, LargeCommunities: []string{"65000:1:2"},
		MED: &med, LocalPref: &pref,
	}
	assert.Equal(t, want, rts[0], "IPv4 first; iBGP: empty AS path")
	want.Prefix, want.NextHop = netip.MustParsePrefix("2001:db8:dead:beef::111/128"), netip.MustParseAddr("2001:db8:ffff::1")
	assert.Equal(t, want, rts[1])
}

// TestTwoPeersLookup: two speakers, on 127.0.0.1 and 127.0.0.2, announce
// an aggregate and host routes inside it; Lookup picks the longest prefix.
func TestTwoPeersLookup(t *testing.T) {
	if l, err := net.Listen("tcp", netip.AddrPortFrom(lo4b, 0).String()); err != nil {
		t.Skipf("no %v on loopback: %v", lo4b, err)
	} else {
		_ = l.Close()
	}
	r := newRouter(t, bgptest.Config{})
	ctx := context.Background()
	require.NoError(t, r.AddPeer(ctx, bgptest.Peer{Address: lo4, ASN: speakerASN}))
	require.NoError(t, r.AddPeer(ctx, bgptest.Peer{Address: lo4b, ASN: speakerASN + 1}))
	agg := newSpeaker(t, r, speakerASN, lo4, bgp.Config{AggregateIPv4: 24, AggregateIPv6: 64})
	host := newSpeaker(t, r, speakerASN+1, lo4b, bgp.Config{})
	require.NoError(t, agg.Announce(ctx, svc("a/agg", nil, "172.18.255.1", "2001:db8:dead:beef::1")))
	require.NoError(t, host.Announce(ctx, svc("a/host", nil, "172.18.255.201", "2001:db8:dead:beef::111")))
	rts := wait(t, r, count(4))
	var got []string
	for _, rt := range rts {
		got = append(got, rt.Prefix.String()+" from "+rt.From.String())
	}
	assert.Equal(t, []string{
		"172.18.255.0/24 from 127.0.0.1", "172.18.255.201/32 from 127.0.0.2",
		"2001:db8:dead:beef::/64 from 127.0.0.1", "2001:db8:dead:beef::111/128 from 127.0.0.2",
	}, got, "sorted by prefix")
	assert.Equal(t, []uint32{speakerASN + 1}, rts[1].ASPath)

	tests := []struct {
		dst  string
		want string // "" for no route
	}{
		{"172.18.255.201", "172.18.255.201/32"},
		{"172.18.255.202", "172.18.255.0/24"},
		{"172.18.255.0", "172.18.255.0/24"},
		{"172.18.254.1", ""},
		{"2001:db8:dead:beef::111", "2001:db8:dead:beef::111/128"},
		{"2001:db8:dead:beef::112", "2001:db8:dead:beef::/64"},
		{"2001:db8:dead:cafe::1", ""},
		{"::ffff:172.18.255.201", ""}, // an IPv6 address
	}
	for _, tt := range tests {
		t.Run(tt.dst, func(t *testing.T) {
			rt, ok, err := r.Lookup(ctx, netip.MustParseAddr(tt.dst))
			require.NoError(t, err)
			assert.Equal(t, tt.want != "", ok)
			if ok {
				assert.Equal(t, tt.want, rt.Prefix.String())
			}
		})
	}
}

func TestResetAndRemovePeer(t *testing.T) {
	r := newRouter(t, bgptest.Config{})
	ctx := context.Background()
	require.NoError(t, r.AddPeer(ctx, bgptest.Peer{Address: lo4, ASN: speakerASN}))
	s := newSpeaker(t, r, speakerASN, lo4, bgp.Config{})
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201", "172.18.255.202")))
	wait(t, r, count(2))
	ps, err := r.Peers(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.True(t, ps[0].Established())
	assert.Equal(t, bgp.StateEstablished, ps[0].State)
	assert.Equal(t, uint64(2), ps[0].Accepted)
	assert.Equal(t, 90*time.Second, ps[0].HoldTime, "GoBGP's default hold time")

	require.NoError(t, r.ResetPeer(ctx, lo4))
	wait(t, r, count(0))
	wait(t, r, count(2)) // the speaker reconnects and announces again

	require.NoError(t, r.RemovePeer(ctx, lo4))
	wait(t, r, count(0))
}

// TestActivePeer: the router connects to a listening speaker.
func TestActivePeer(t *testing.T) {
	l, err := net.Listen("tcp", netip.AddrPortFrom(lo4, 0).String())
	require.NoError(t, err)
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())
	s, err := bgp.New(context.Background(), bgp.Config{
		ASN: speakerASN, RouterID: netip.MustParseAddr("10.255.1.2"), Listen: true, ListenPort: port, ListenAddrs: []netip.Addr{lo4},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	r := newRouter(t, bgptest.Config{})
	ctx := context.Background()
	require.NoError(t, s.AddPeer(ctx, bgp.Peer{Address: lo4, ASN: routerASN, Passive: true, EBGPMultihop: 2, HoldTime: 9 * time.Second}))
	require.NoError(t, r.AddPeer(ctx, bgptest.Peer{Address: lo4, ASN: speakerASN, Active: true, Port: port, EBGPMultihop: 2}))
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201")))
	rts := wait(t, r, count(1))
	assert.Equal(t, []uint32{speakerASN}, rts[0].ASPath)
	ps, err := r.Peers(ctx)
	require.NoError(t, err)
	assert.Equal(t, 9*time.Second, ps[0].HoldTime, "the speaker's hold time was negotiated")
}

// TestGracefulRestartHelper: with Peer.GracefulRestart the router keeps a
// gracefully closed speaker's routes, marked stale.
func TestGracefulRestartHelper(t *testing.T) {
	r := newRouter(t, bgptest.Config{})
	ctx := context.Background()
	require.NoError(t, r.AddPeer(ctx, bgptest.Peer{Address: lo4, ASN: speakerASN, GracefulRestart: true}))
	s, err := bgp.New(ctx, bgp.Config{ASN: speakerASN, RouterID: netip.MustParseAddr("10.255.1.2")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.AddPeer(ctx, bgp.Peer{Address: lo4, Port: r.Port(), ASN: routerASN, GracefulRestart: true, RestartTime: 60 * time.Second}))
	require.NoError(t, s.Announce(ctx, svc("a/b", nil, "172.18.255.201")))
	rts := wait(t, r, count(1))
	assert.False(t, rts[0].Stale)
	require.NoError(t, s.CloseGraceful())
	// Routes is read only once the router has marked the routes stale:
	// GoBGP v4.8's ListPath reads a path's stale flag without the lock
	// under which the session's end sets it (a data race inside GoBGP).
	require.Eventually(t, func() bool {
		ps, err := r.Peers(ctx)
		return err == nil && len(ps) == 1 && !ps[0].Established()
	}, 20*time.Second, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	rts, err = r.Routes(ctx)
	require.NoError(t, err)
	require.Len(t, rts, 1)
	assert.True(t, rts[0].Stale)
	assert.Contains(t, rts[0].String(), " stale")
}

func TestWaitRoutesContextEnds(t *testing.T) {
	r := newRouter(t, bgptest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rts, err := r.WaitRoutes(ctx, count(1))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, rts, "the last table read")
	assert.False(t, errors.Is(err, bgptest.ErrClosed))
}
