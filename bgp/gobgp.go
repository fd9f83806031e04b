package bgp

import (
	"context"
	"sync"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// GoBGP v3 keeps route-selection options in package variables that every
// server writes in StartBgp and reads in its server loop while selecting
// routes. The writes all store the same values, but to keep them ordered
// (and the race detector quiet) this package starts its GoBGP servers one
// at a time and, after each start, makes a round trip through the loop of
// every other live server: whatever those loops do next happens after the
// write. A start that overlaps another server's route selection cannot be
// ordered this way; see the package documentation.
var servers struct {
	sync.Mutex
	live map[*server.BgpServer]bool
}

// startServer starts srv with req, ordered as described above.
func startServer(ctx context.Context, srv *server.BgpServer, req *api.StartBgpRequest) error {
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

// stopServer stops srv, which startServer started (or tried to).
func stopServer(srv *server.BgpServer) error {
	servers.Lock()
	delete(servers.live, srv)
	servers.Unlock()
	return srv.StopBgp(context.Background(), &api.StopBgpRequest{})
}
