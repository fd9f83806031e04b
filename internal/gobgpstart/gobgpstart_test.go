package gobgpstart

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func live(srv *server.BgpServer) bool {
	servers.Lock()
	defer servers.Unlock()
	return servers.live[srv]
}

func freePort(t *testing.T) int32 {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// newServer starts a server with AS asn listening on 127.0.0.1:port (-1:
// not listening).
func newServer(t *testing.T, asn uint32, id string, port int32) *server.BgpServer {
	srv := server.NewBgpServer()
	go srv.Serve()
	require.NoError(t, Start(context.Background(), srv, &api.StartBgpRequest{Global: &api.Global{
		Asn: asn, RouterId: id, ListenPort: port, ListenAddresses: []string{"127.0.0.1"},
	}}))
	return srv
}

func TestStartFailureIsNotLive(t *testing.T) {
	srv := server.NewBgpServer()
	go srv.Serve()
	err := Start(context.Background(), srv, &api.StartBgpRequest{Global: &api.Global{Asn: 1, RouterId: "not an address", ListenPort: -1}})
	assert.Error(t, err)
	assert.False(t, live(srv))
	assert.NoError(t, Stop(srv), "stopping a server that never started")
}

// TestStopEndsSessions: Stop returns after the established session is torn
// down; the other side sees it go.
func TestStopEndsSessions(t *testing.T) {
	port := freePort(t)
	a := newServer(t, 65000, "10.255.9.1", port)
	b := newServer(t, 65001, "10.255.9.2", -1)
	assert.True(t, live(a))
	assert.True(t, live(b))
	t.Cleanup(func() { _ = Stop(a) })
	ctx := context.Background()
	timers := &api.Timers{Config: &api.TimersConfig{ConnectRetry: 1, IdleHoldTimeAfterReset: 1}}
	require.NoError(t, a.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: "127.0.0.1", PeerAsn: 65001}, Transport: &api.Transport{PassiveMode: true}, Timers: timers,
	}}))
	require.NoError(t, b.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: "127.0.0.1", PeerAsn: 65000}, Transport: &api.Transport{RemotePort: uint32(port)}, Timers: timers,
	}}))
	state := func(srv *server.BgpServer) (st api.PeerState_SessionState) {
		_ = srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) { st = p.GetState().GetSessionState() })
		return st
	}
	require.Eventually(t, func() bool { return state(a) == api.PeerState_ESTABLISHED }, 20*time.Second, 10*time.Millisecond)

	require.NoError(t, Stop(b))
	assert.False(t, live(b))
	var peers int
	require.NoError(t, b.ListPeer(ctx, &api.ListPeerRequest{}, func(*api.Peer) { peers++ }))
	assert.Zero(t, peers, "Stop removed b's peers")
	assert.Eventually(t, func() bool { return state(a) != api.PeerState_ESTABLISHED }, 20*time.Second, 10*time.Millisecond,
		"a sees the session end")
}

func peerEvent(addr string, st api.PeerState_SessionState) *api.WatchEventResponse {
	return &api.WatchEventResponse{Event: &api.WatchEventResponse_Peer{Peer: &api.WatchEventResponse_PeerEvent{
		Type: api.WatchEventResponse_PeerEvent_STATE,
		Peer: &api.Peer{State: &api.PeerState{NeighborAddress: addr, SessionState: st}},
	}}}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestDrain: sessions that end before or after drainPeers has listed them
// both count as torn down.
func TestDrain(t *testing.T) {
	x, y, z := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	d := &drain{left: map[netip.Addr]bool{}, done: make(chan struct{})}
	d.onEvent(&api.WatchEventResponse{}) // not a peer event
	d.onEvent(peerEvent("10.0.0.1", api.PeerState_IDLE))
	d.onEvent(peerEvent("10.0.0.2", api.PeerState_IDLE))
	d.onEvent(peerEvent("10.0.0.2", api.PeerState_ESTABLISHED)) // y came back
	d.onEvent(peerEvent("not an address", api.PeerState_IDLE))
	assert.True(t, d.expect([]netip.Addr{x}), "x ended before expect")
	assert.False(t, closed(d.done))

	d = &drain{left: map[netip.Addr]bool{}, done: make(chan struct{})}
	d.onEvent(peerEvent("10.0.0.1", api.PeerState_IDLE))
	d.onEvent(peerEvent("10.0.0.2", api.PeerState_IDLE))
	d.onEvent(peerEvent("10.0.0.2", api.PeerState_ESTABLISHED))
	require.False(t, d.expect([]netip.Addr{x, y, z}), "y and z still up")
	d.onEvent(peerEvent("10.0.0.3", api.PeerState_ESTABLISHED))
	d.onEvent(peerEvent("10.0.0.3", api.PeerState_IDLE))
	assert.False(t, closed(d.done), "y is still up")
	d.onEvent(peerEvent("10.0.0.2", api.PeerState_ACTIVE))
	assert.True(t, closed(d.done))
	d.onEvent(peerEvent("10.0.0.2", api.PeerState_IDLE)) // no second close
}
