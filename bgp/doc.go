// Package bgp announces service addresses to routers over BGP, with an
// embedded GoBGP (github.com/osrg/gobgp/v4) speaker. A Speaker is an
// announce.Announcer: each IPv4 service address becomes a /32 route and each
// IPv6 address a /128 (or, with Config.AggregateIPv4/IPv6, the covering
// prefix of that length), with BGP attributes chosen per service by Rules.
// No GoBGP type appears in this package's API.
//
// # Next hops
//
// A route's next hop is the local address of the session it is sent over,
// unless the peer sets NextHopIPv4 or NextHopIPv6. A session carrying the
// other family (IPv6 routes over an IPv4 session, or the reverse, via
// MP-BGP) must set that family's next hop explicitly: GoBGP would otherwise
// send an IPv4-mapped IPv6 address that routers accept but never install.
// AddPeer refuses such a peer with ErrInvalidPeer.
//
// # Timers
//
// GoBGP waits 120–240 s after a failed connection attempt by default; a
// restarted router would stay unreachable for minutes. Peers here default to
// DefaultConnectRetry (3 s, so 3–6 s between attempts) and the same idle
// hold time after a reset.
//
// # Shutdown and graceful restart
//
// Close implements announce.Announcer: it withdraws every route and then
// closes every session with a BGP NOTIFICATION (CEASE), with or without
// graceful restart. A CEASE tells a graceful-restart helper that this is no
// restart, so routers drop the routes at once (RFC 4724) even if a
// withdrawal was still queued.
//
// CloseGraceful is the restart path: it keeps the routes. Sessions to peers
// with GracefulRestart are closed without a NOTIFICATION and without
// withdrawals, so a router acting as graceful-restart helper keeps the
// routes as stale for the peer's RestartTime; a new Speaker that announces
// the same routes within that time refreshes them without a traffic gap.
// Sessions to other peers are closed with a CEASE and their routes vanish.
//
// # Received routes
//
// The Speaker originates routes and never forwards what it learns: routes
// received from peers are counted (PeerStatus.Received; routes rejected as
// AS-path loops, typically our own routes reflected back, are not counted)
// and discarded. GoBGP's logs go to Config.Logger with GoBGP's info level
// lowered to slog's debug level.
//
// # Concurrency
//
// A Speaker is safe for concurrent use. After Close, every goroutine it
// or its GoBGP server started has ended.
//
// GoBGP keeps its route-selection options in package variables that
// every GoBGP server writes when it starts and reads while it selects
// routes. New starts Speakers (and bgptest.NewRouter its Routers) one at a
// time and orders each start before the later work of the other Speakers
// and Routers in the process, so several may live in one process; a start
// that overlaps another server's route selection is still a (benign: every
// start writes the same values) data race inside GoBGP. Start Speakers
// before they carry routes, and do not run other GoBGP servers beside
// them.
//
// # Deviations from the design sketch
//
// Peer has, beyond the sketch, ConnectRetry, RestartTime, LocalAddress,
// NextHopIPv4 and NextHopIPv6; Config has ListenAddrs, Rules (a Rule holds a
// selector.Selector and the Attributes) and AggregateIPv4/IPv6; Speaker has
// UpdatePeer and CloseGraceful.
package bgp
