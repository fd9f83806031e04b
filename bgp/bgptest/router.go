// Package bgptest provides an in-process BGP router for tests of code that
// announces routes over BGP, such as a bgp.Speaker: a GoBGP server on
// loopback that accepts sessions, keeps what it learns and reports its
// table as plain values (netip.Prefix, netip.Addr, strings). It is the BGP
// counterpart of announce/announcetest, one level lower: a real BGP session
// over TCP instead of a recorded Announcer.
//
// A test starts a Router, adds the speaker as a neighbor (the router waits
// for it to connect, unless Peer.Active), points the speaker at Addr and
// Port, and reads Routes, Lookup or WaitRoutes. No GoBGP type appears in
// this package's API.
//
//	r, err := bgptest.NewRouter(ctx, bgptest.Config{ASN: 65000, RouterID: id})
//	...
//	t.Cleanup(func() { r.Close() })
//	err = r.AddPeer(ctx, bgptest.Peer{Address: speakerAddr, ASN: 65001})
//	// the speaker peers with bgp.Peer{Address: r.Addr(), Port: r.Port(), ASN: r.ASN()}
//	rts, err := r.WaitRoutes(ctx, func(rts []bgptest.Route) bool { return len(rts) == 2 })
//
// The router listens on 127.0.0.1 and a free port by default, so tests need
// no privileges and may run in parallel. Its sessions carry IPv4 and IPv6
// unicast and retry quickly (1 s). Routes reports the best path of each
// prefix with its attributes decoded. The router originates no routes; like
// a real one it passes routes learned from one neighbor on to the others
// (to eBGP neighbors; not from one iBGP neighbor to another).
//
// A Router is safe for concurrent use. Routers and bgp.Speakers may share a
// process, as bgp.Speaker's documentation describes. After Close, every
// goroutine of the Router has ended.
package bgptest

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/lbkit/lbkit/internal/freeport"
	"github.com/lbkit/lbkit/internal/gobgpstart"
)

// Config configures a Router.
type Config struct {
	// ASN is the router's autonomous system number; required.
	ASN uint32
	// RouterID is the router's BGP identifier, an IPv4 address; required.
	// It must differ from the identifiers of the router's neighbors.
	RouterID netip.Addr
	// ListenAddr is the address the router listens on; the zero value
	// means 127.0.0.1.
	ListenAddr netip.Addr
	// ListenPort is the TCP port the router listens on; 0 picks a free
	// one (see Router.Port).
	ListenPort uint16
}

func (c Config) validate() (Config, error) {
	switch {
	case c.ASN == 0:
		return c, fmt.Errorf("%w: ASN 0", ErrInvalidConfig)
	case !c.RouterID.Is4() || c.RouterID.IsUnspecified():
		return c, fmt.Errorf("%w: router ID %v is not a usable IPv4 address", ErrInvalidConfig, c.RouterID)
	case c.ListenAddr.Zone() != "":
		return c, fmt.Errorf("%w: listen address %v has a zone", ErrInvalidConfig, c.ListenAddr)
	}
	if !c.ListenAddr.IsValid() {
		c.ListenAddr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return c, nil
}

// A Router is an in-process BGP router. Create it with NewRouter.
type Router struct {
	cfg Config
	srv *server.BgpServer

	mu     sync.RWMutex // held for reading while srv is used
	closed bool
	peers  map[netip.Addr]Peer
}

// NewRouter starts a router. It returns ErrInvalidConfig for a bad
// configuration, and an error if it cannot listen. ctx bounds the start
// only; stop the router with Close.
func NewRouter(ctx context.Context, cfg Config) (*Router, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	r := &Router{
		cfg:   cfg,
		srv:   server.NewBgpServer(server.LoggerOption(slog.New(slog.DiscardHandler), nil)),
		peers: make(map[netip.Addr]Peer),
	}
	go r.srv.Serve()
	if err := r.start(ctx); err != nil {
		_ = gobgpstart.Stop(r.srv)
		return nil, fmt.Errorf("bgptest: start: %w", err)
	}
	return r, nil
}

// start starts the GoBGP server; with ListenPort 0 it tries a few free
// ports, since a port found free may be taken before GoBGP binds it.
func (r *Router) start(ctx context.Context) error {
	tries, pick := 1, r.cfg.ListenPort == 0
	if pick {
		tries = 5
	}
	var err error
	for range tries {
		if pick {
			if r.cfg.ListenPort, err = freeport.TCP(r.cfg.ListenAddr); err != nil {
				return err
			}
		}
		err = gobgpstart.Start(ctx, r.srv, &api.StartBgpRequest{Global: &api.Global{
			Asn:             r.cfg.ASN,
			RouterId:        r.cfg.RouterID.String(),
			ListenPort:      int32(r.cfg.ListenPort),
			ListenAddresses: []string{r.cfg.ListenAddr.String()},
		}})
		if err == nil {
			return nil
		}
	}
	return err
}

// Addr returns the address the router listens on.
func (r *Router) Addr() netip.Addr { return r.cfg.ListenAddr }

// Port returns the TCP port the router listens on.
func (r *Router) Port() uint16 { return r.cfg.ListenPort }

// ASN returns the router's autonomous system number.
func (r *Router) ASN() uint32 { return r.cfg.ASN }

// Close closes every session with a CEASE notification and stops the
// router. Later calls of other methods return ErrClosed; closing twice is
// harmless.
func (r *Router) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if err := gobgpstart.Stop(r.srv); err != nil {
		return fmt.Errorf("bgptest: stop: %w", err)
	}
	return nil
}

// use runs f with the server, unless the router is closed.
func (r *Router) use(f func() error) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	return f()
}
