package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/internal/bfd"
	"github.com/lbkit/lbkit/internal/gobgpstart"
)

// A Speaker is an embedded BGP speaker that announces service addresses.
// It implements announce.Announcer. Create it with New; it is safe for
// concurrent use.
//
// A method whose ctx is done when it is called returns ctx's error and
// changes nothing. Once started, a call runs to its end: GoBGP's
// operations cannot be interrupted, and they take milliseconds.
//
// Several Speakers (and bgptest Routers) may share a process. GoBGP keeps
// its route-selection options in package variables that every GoBGP
// server writes when it starts (always the same values); New orders each
// start against the other servers' work, but a start that overlaps another
// server's route selection is still a benign data race inside GoBGP. Start
// Speakers before they carry routes, and run no other GoBGP servers beside
// them.
type Speaker struct {
	cfg   Config
	rules []rule
	srv   *server.BgpServer
	log   *slog.Logger

	hub       *hub
	stopWatch context.CancelFunc
	evMu      sync.Mutex               // guards lastState, lastBFD and evStopped
	lastState map[netip.Addr]PeerState // sessions not idle, as last published
	lastBFD   map[netip.Addr]BFDState
	evStopped bool

	routeState // guarded by mu

	mu     sync.Mutex // guards routeState and closed
	closed bool

	peerMu      sync.Mutex // guards peers, bfd and bfdSessions; never held while taking mu
	peers       map[netip.Addr]Peer
	bfd         *bfd.Server // started with the first peer with BFD
	bfdSessions map[netip.Addr]*bfd.Session
	addedAt     map[netip.Addr]time.Time // when each peer was last given to GoBGP

	bg sync.WaitGroup // goroutines that reconnect peers

	flush *flusher
	qMu   sync.Mutex // guards queue
	queue []pathOp   // route changes for the flusher, in order
}

var _ announce.Announcer = (*Speaker)(nil)

// New starts a speaker. It returns ErrInvalidConfig for a bad
// configuration, and GoBGP's error if it cannot start, for example because
// the listen port is taken. ctx bounds the start only: the speaker runs
// until Close, whatever happens to ctx later.
func New(ctx context.Context, cfg Config) (*Speaker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rules, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Speaker{
		cfg:         cfg,
		rules:       rules,
		log:         logger.With("component", "lbkit/bgp"),
		srv:         server.NewBgpServer(server.LoggerOption(newGoBGPLogger(cfg.Logger), nil)),
		lastState:   make(map[netip.Addr]PeerState),
		lastBFD:     make(map[netip.Addr]BFDState),
		bfdSessions: make(map[netip.Addr]*bfd.Session),
		addedAt:     make(map[netip.Addr]time.Time),
		hub:         newHub(),
		routeState:  newRouteState(),
		peers:       make(map[netip.Addr]Peer),
	}
	go s.srv.Serve()
	s.flush = newFlusher()
	go s.runFlusher()
	if err := s.start(ctx); err != nil {
		s.stopFlusher()
		_ = gobgpstart.Stop(s.srv)
		if s.stopWatch != nil {
			s.stopWatch()
		}
		return nil, err
	}
	return s, nil
}

func (s *Speaker) start(ctx context.Context) error {
	g := &api.Global{
		Asn:        s.cfg.ASN,
		RouterId:   s.cfg.RouterID.String(),
		ListenPort: s.listenPort(),
	}
	for _, a := range s.cfg.ListenAddrs {
		g.ListenAddresses = append(g.ListenAddresses, a.String())
	}
	err := gobgpstart.Start(ctx, s.srv, &api.StartBgpRequest{Global: g})
	if err != nil {
		return fmt.Errorf("bgp: start: %w", err)
	}
	if err := s.applyPolicies(ctx, nil, nil); err != nil {
		return err
	}
	if err := s.assignPolicies(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.stopWatch = cancel
	err = s.srv.WatchEvent(wctx, server.WatchEventMessageCallbacks{OnPeerUpdate: s.onEvent}, server.WatchPeer())
	if err != nil {
		cancel()
		return fmt.Errorf("bgp: watch: %w", err)
	}
	return nil
}

// Close withdraws every route, then closes every session with a CEASE
// notification and stops the speaker. A CEASE tells a graceful-restart
// helper that this is no restart, so routers drop the routes at once (RFC
// 4724) even if a withdrawal was still queued. Later calls of other
// methods return ErrClosed; closing twice is harmless. After Close, every
// goroutine the speaker or its GoBGP server started has ended.
func (s *Speaker) Close() error {
	return s.shutdown(false)
}

// CloseGraceful stops the speaker without withdrawing its routes: sessions
// to peers with GracefulRestart are closed without a notification, so those
// routers keep the routes (as stale) for the peer's RestartTime, waiting for
// a new speaker to re-announce them; other sessions are closed with a
// CEASE. After CloseGraceful, Close is a no-op.
//
// The sessions are found among the process's sockets by peer address and
// port (GoBGP offers no other way to drop them silently): another Speaker
// in the same process with a session to the same peer loses it too.
func (s *Speaker) CloseGraceful() error {
	return s.shutdown(true)
}

func (s *Speaker) shutdown(graceful bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stopFlusher() // the queued changes reach GoBGP before the withdrawal
	var errs []error
	if !graceful {
		s.mu.Lock()
		errs = append(errs, s.withdrawAll())
		s.mu.Unlock()
	}

	s.peerMu.Lock()
	if graceful {
		errs = append(errs, s.abortGracefulSessions())
	}
	if s.bfd != nil {
		errs = append(errs, s.bfd.Close())
	}
	s.peerMu.Unlock()
	errs = append(errs, gobgpstart.Stop(s.srv))
	s.stopEvents()
	s.bg.Wait()
	return errors.Join(errs...)
}

// abortGracefulSessions closes the TCP connections of peers with graceful
// restart, so that GoBGP's CEASE on shutdown never reaches them.
func (s *Speaker) abortGracefulSessions() error {
	var errs []error
	for _, p := range s.peers {
		if !p.GracefulRestart {
			continue
		}
		if err := abortSessions(p.Address, p.port(), s.listenPort()); err != nil {
			errs = append(errs, fmt.Errorf("bgp: graceful close of %v: %w", p.Address, err))
		}
	}
	return errors.Join(errs...)
}

// listenPort returns the port the speaker accepts sessions on, or -1
// (GoBGP's "do not listen").
func (s *Speaker) listenPort() int32 {
	switch {
	case !s.cfg.Listen:
		return -1
	case s.cfg.ListenPort == 0:
		return 179
	}
	return int32(s.cfg.ListenPort)
}

func (p Peer) port() uint16 {
	if p.Port == 0 {
		return 179
	}
	return p.Port
}
