// Package gobgpstart starts and stops the GoBGP servers of lbkit (bgp's
// Speakers and bgptest's Routers) so that they can share a process.
//
// GoBGP v4 still keeps route-selection options in package variables
// (table.SelectionOptions, table.UseMultiplePaths) that every server writes
// in StartBgp and reads while selecting routes (in its server loop, and in
// its sessions' goroutines under the server's lock). The writes all store
// the same values, but to keep them ordered (and the race detector quiet)
// Start starts servers one at a time and, before and after each start,
// makes a round trip through the loop of every other live server: the
// loop takes the server's lock, so what the server did before happens
// before the write, and what it does next happens after. A start that
// overlaps another server's route selection cannot be ordered this way;
// callers document that.
package gobgpstart

import (
	"context"
	"net/netip"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

var servers struct {
	sync.Mutex
	live map[*server.BgpServer]bool
}

// Start starts srv with req, ordered as described in the package
// documentation. srv's Serve loop must be running.
func Start(ctx context.Context, srv *server.BgpServer, req *api.StartBgpRequest) error {
	servers.Lock()
	defer servers.Unlock()
	roundTrips()
	if err := srv.StartBgp(ctx, req); err != nil {
		return err
	}
	roundTrips()
	if servers.live == nil {
		servers.live = make(map[*server.BgpServer]bool)
	}
	servers.live[srv] = true
	return nil
}

// roundTrips passes through the loop of every live server; servers is
// locked.
func roundTrips() {
	for other := range servers.live {
		_, _ = other.GetBgp(context.Background(), &api.GetBgpRequest{})
	}
}

// Stop stops srv, which Start started (or tried to): it tears down srv's
// sessions (for up to 5 s) and then stops srv, its server loop and its BFD
// loop. Every goroutine GoBGP started for srv has ended when Stop returns.
func Stop(srv *server.BgpServer) error {
	servers.Lock()
	delete(servers.live, srv)
	servers.Unlock()
	drainPeers(srv)
	// Stop runs StopBgp (which ends Serve) and then stops the BFD loop
	// that NewBgpServer started; StopBgp alone leaves that loop running.
	srv.Stop()
	return nil
}

// drainTimeout bounds how long Stop waits for sessions to end.
const drainTimeout = 5 * time.Second

// drainPeers removes srv's peers (each gets a CEASE, as StopBgp would send)
// and waits until GoBGP has torn down every established session. GoBGP
// v4's StopBgp still clears the global configuration while the goroutines
// of the sessions it ends may read it; after the teardown those goroutines
// are gone.
//
// The sessions to wait for come from GoBGP's peer events, not from a
// listing: a session in OpenConfirm when listed may be established by the
// time its peer is deleted, and its goroutines then run on.
func drainPeers(srv *server.BgpServer) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	d := newDrain()
	err := srv.WatchEvent(ctx, server.WatchEventMessageCallbacks{
		OnPeerUpdate: func(ev *apiutil.WatchEventMessage_PeerEvent, _ time.Time) { d.onEvent(ev) },
	}, server.WatchPeer())
	var all []string
	_ = srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		all = append(all, p.GetConf().GetNeighborAddress())
	})
	for _, a := range all {
		_ = srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: a})
	}
	if err == nil && len(all) > 0 {
		d.wait(ctx)
	}
}

// drain follows GoBGP's peer events to learn which sessions are
// established. A watch starts with the state of every peer (INIT events,
// then END_OF_INIT), then reports every change; GoBGP reports the end of a
// session (deleted or ended on its own) as a STATE event in a state other
// than established, after the session's goroutines have ended.
type drain struct {
	mu      sync.Mutex
	init    bool                // END_OF_INIT seen
	up      map[netip.Addr]bool // established sessions
	changed chan struct{}       // closed and replaced on every event
}

func newDrain() *drain {
	return &drain{up: map[netip.Addr]bool{}, changed: make(chan struct{})}
}

func (d *drain) onEvent(ev *apiutil.WatchEventMessage_PeerEvent) {
	if ev == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ev.Type == apiutil.PEER_EVENT_END_OF_INIT {
		d.init = true
	} else {
		a := ev.Peer.State.NeighborAddress
		if !a.IsValid() {
			return
		}
		if ev.Peer.State.SessionState == bgp.BGP_FSM_ESTABLISHED {
			d.up[a] = true
		} else {
			delete(d.up, a)
		}
	}
	close(d.changed)
	d.changed = make(chan struct{})
}

// settled reports whether the initial states have arrived and no session
// is established, and returns a channel closed at the next event.
func (d *drain) settled() (bool, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.init && len(d.up) == 0, d.changed
}

// wait returns when d has settled or ctx is done.
func (d *drain) wait(ctx context.Context) {
	for {
		ok, changed := d.settled()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}
