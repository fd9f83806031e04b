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
	var all []string
	waiting := map[netip.Addr]bool{}
	_ = srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		all = append(all, p.GetConf().GetNeighborAddress())
		if p.GetState().GetSessionState() == api.PeerState_ESTABLISHED {
			if a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress()); err == nil {
				waiting[a] = true
			}
		}
	})
	if len(all) == 0 {
		return
	}
	var mu sync.Mutex
	done := make(chan struct{})
	// GoBGP reports a torn-down session as a peer event of type UNKNOWN
	// and state IDLE, after its goroutines have ended.
	err := srv.WatchEvent(ctx, &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, func(r *api.WatchEventResponse) {
		pe := r.GetPeer()
		if pe == nil || pe.GetType() != api.WatchEventResponse_PeerEvent_UNKNOWN {
			return
		}
		a, err := netip.ParseAddr(pe.GetPeer().GetState().GetNeighborAddress())
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if waiting[a] {
			delete(waiting, a)
			if len(waiting) == 0 {
				close(done)
			}
		}
	})
	for _, a := range all {
		_ = srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: a})
	}
	mu.Lock()
	idle := len(waiting) == 0
	mu.Unlock()
	if err != nil || idle {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}
