package gobgpstart

import (
	"context"
	"testing"
	"time"

	"net/netip"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/internal/freeport"
)

func live(srv *server.BgpServer) bool {
	servers.Lock()
	defer servers.Unlock()
	return servers.live[srv]
}

func freePort(t *testing.T) int32 {
	p, err := freeport.TCP(netip.MustParseAddr("127.0.0.1"))
	require.NoError(t, err)
	return int32(p)
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
	require.Eventually(t, func() bool { return state(a) == api.PeerState_SESSION_STATE_ESTABLISHED }, 20*time.Second, 10*time.Millisecond)

	require.NoError(t, Stop(b))
	assert.False(t, live(b))
	assert.Error(t, b.ListPeer(ctx, &api.ListPeerRequest{}, func(*api.Peer) {}), "b's server loop has ended")
	assert.Eventually(t, func() bool { return state(a) != api.PeerState_SESSION_STATE_ESTABLISHED }, 20*time.Second, 10*time.Millisecond,
		"a sees the session end")
}

func peerEvent(typ apiutil.PeerEventType, addr string, st bgp.FSMState) *apiutil.WatchEventMessage_PeerEvent {
	a, _ := netip.ParseAddr(addr)
	return &apiutil.WatchEventMessage_PeerEvent{Type: typ, Peer: apiutil.Peer{State: apiutil.PeerState{NeighborAddress: a, SessionState: st}}}
}

func state(addr string, st bgp.FSMState) *apiutil.WatchEventMessage_PeerEvent {
	return peerEvent(apiutil.PEER_EVENT_STATE, addr, st)
}

func initial(addr string, st bgp.FSMState) *apiutil.WatchEventMessage_PeerEvent {
	return peerEvent(apiutil.PEER_EVENT_INIT, addr, st)
}

// endOfInit is GoBGP's END_OF_INIT event: no peer address.
var endOfInit = peerEvent(apiutil.PEER_EVENT_END_OF_INIT, "", bgp.BGP_FSM_IDLE)

func settled(d *drain) bool {
	ok, _ := d.settled()
	return ok
}

// TestDrain: drain waits for the initial states, then until every
// established session has been reported ended; sessions that were never
// established, or ended before, are not waited for.
func TestDrain(t *testing.T) {
	d := newDrain()
	d.onEvent(nil)
	d.onEvent(initial("10.0.0.1", bgp.BGP_FSM_IDLE))
	d.onEvent(initial("10.0.0.2", bgp.BGP_FSM_ESTABLISHED))
	d.onEvent(initial("10.0.0.3", bgp.BGP_FSM_ESTABLISHED))
	assert.False(t, settled(d), "before END_OF_INIT")
	_, changed := d.settled()
	d.onEvent(endOfInit)
	assert.True(t, closed(changed), "every event wakes the waiter")
	d.onEvent(state("10.0.0.3", bgp.BGP_FSM_IDLE)) // deleted
	assert.False(t, settled(d), "10.0.0.2 is still up")
	d.onEvent(state("not an address", bgp.BGP_FSM_IDLE))
	d.onEvent(state("10.0.0.2", bgp.BGP_FSM_ACTIVE))
	assert.True(t, settled(d))

	// A watch on a server with no peers settles at END_OF_INIT.
	d = newDrain()
	d.onEvent(endOfInit)
	assert.True(t, settled(d))
}

// TestDrainSessionUpAfterListing: a session that was in OpenConfirm when
// Stop looked and was established before its peer was deleted is waited
// for too (its goroutines read GoBGP's global configuration, which StopBgp
// clears: a data race seen under load).
func TestDrainSessionUpAfterListing(t *testing.T) {
	d := newDrain()
	d.onEvent(initial("10.0.0.1", bgp.BGP_FSM_OPENCONFIRM))
	d.onEvent(endOfInit)
	require.True(t, settled(d))
	d.onEvent(state("10.0.0.1", bgp.BGP_FSM_ESTABLISHED))
	assert.False(t, settled(d), "established after the listing")
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	d.wait(ctx) // returns at the deadline
	d.onEvent(state("10.0.0.1", bgp.BGP_FSM_IDLE))
	assert.True(t, settled(d))
	d.wait(context.Background()) // returns at once
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
