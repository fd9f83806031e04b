// Package gobgpstart starts and stops the GoBGP servers of lbkit (bgp's
// Speakers and bgptest's Routers) so that they can share a process.
//
// GoBGP v3 keeps route-selection options in package variables that every
// server writes in StartBgp and reads in its server loop while selecting
// routes. The writes all store the same values, but to keep them ordered
// (and the race detector quiet) Start starts servers one at a time and,
// after each start, makes a round trip through the loop of every other live
// server: whatever those loops do next happens after the write. A start
// that overlaps another server's route selection cannot be ordered this
// way; callers document that.
package gobgpstart

import (
	"context"
	"net/netip"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
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
	if err := srv.StartBgp(ctx, req); err != nil {
		return err
	}
	for other := range servers.live {
		_, _ = other.GetBgp(context.Background(), &api.GetBgpRequest{})
	}
	if servers.live == nil {
		servers.live = make(map[*server.BgpServer]bool)
	}
	servers.live[srv] = true
	return nil
}

// Stop stops srv, which Start started (or tried to): it tears down srv's
// sessions (for up to 5 s) and then stops srv.
func Stop(srv *server.BgpServer) error {
	servers.Lock()
	delete(servers.live, srv)
	servers.Unlock()
	drainPeers(srv)
	return srv.StopBgp(context.Background(), &api.StopBgpRequest{})
}

// drainTimeout bounds how long Stop waits for sessions to end.
const drainTimeout = 5 * time.Second

// drainPeers removes srv's peers (each gets a CEASE, as StopBgp would send)
// and waits until GoBGP has torn down every established session. StopBgp
// alone clears the global configuration while the goroutines of the
// sessions it ends may still read it; after the teardown those goroutines
// are gone.
func drainPeers(srv *server.BgpServer) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	d := &drain{left: map[netip.Addr]bool{}, done: make(chan struct{})}
	// Watch first: a session that ends after ListPeer saw it established
	// is then reported to d.
	err := srv.WatchEvent(ctx, &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, d.onEvent)
	var all []string
	var established []netip.Addr
	_ = srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		all = append(all, p.GetConf().GetNeighborAddress())
		if p.GetState().GetSessionState() == api.PeerState_ESTABLISHED {
			if a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress()); err == nil {
				established = append(established, a)
			}
		}
	})
	if len(all) == 0 {
		return
	}
	idle := d.expect(established)
	for _, a := range all {
		_ = srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: a})
	}
	if err != nil || idle {
		return
	}
	select {
	case <-d.done:
	case <-ctx.Done():
	}
}

// drain tracks the established sessions drainPeers waits for. GoBGP
// reports the end of a session as a peer event in a state other than
// ESTABLISHED (of type UNKNOWN when the peer was deleted, STATE when the
// session ended on its own), after the session's goroutines have ended.
type drain struct {
	mu      sync.Mutex
	left    map[netip.Addr]bool // sessions seen ending before expect
	waiting map[netip.Addr]bool // nil before expect
	done    chan struct{}       // closed when waiting empties
}

func (d *drain) onEvent(r *api.WatchEventResponse) {
	if r.GetPeer() == nil {
		return
	}
	st := r.GetPeer().GetPeer().GetState()
	a, err := netip.ParseAddr(st.GetNeighborAddress())
	if err != nil {
		return
	}
	up := st.GetSessionState() == api.PeerState_ESTABLISHED
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.waiting == nil:
		d.left[a] = !up
	case d.waiting[a] && !up:
		delete(d.waiting, a)
		if len(d.waiting) == 0 {
			close(d.done)
		}
	}
}

// expect starts waiting for the sessions to addrs (less those that have
// ended already) and reports whether there are none.
func (d *drain) expect(addrs []netip.Addr) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.waiting = map[netip.Addr]bool{}
	for _, a := range addrs {
		if !d.left[a] {
			d.waiting[a] = true
		}
	}
	return len(d.waiting) == 0
}
