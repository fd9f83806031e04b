// Package bgp announces service addresses to routers over BGP, with an
// embedded GoBGP v4 (github.com/osrg/gobgp/v4) speaker. A Speaker is an
// announce.Announcer: each IPv4 service address becomes a /32 route and each
// IPv6 address a /128 (or, with Config.AggregateIPv4/IPv6, the covering
// prefix of that length), with BGP attributes chosen per service by Rules.
// No GoBGP type appears in this package's API.
//
//	s, err := bgp.New(ctx, bgp.Config{ASN: 65001, RouterID: nodeIP})
//	err = s.AddPeer(ctx, bgp.Peer{Address: routerIP, ASN: 65000, BFD: bgp.BFD{Enabled: true}})
//	err = s.Announce(ctx, announce.Service{Key: "default/web", Addrs: addrs})
//	defer s.Close() // withdraws the routes
//
// A Peer may limit its routes to some services (Peer.Selector) and override
// next hops; Peers and Watch report the sessions.
//
// # Fast failure detection (BFD)
//
// When a node dies, a router keeps its routes until the BGP hold time
// expires (90 s by default). With Peer.BFD, the speaker and the router also
// exchange BFD packets (RFC 5880, single hop), every 300 ms by default; a
// router that runs BFD for the session drops the routes after three missed
// packets, under a second. The router must enable BFD for the neighbor
// too (BIRD: "bfd on" and a bfd protocol; FRR: "neighbor X bfd").
//
// # Received routes
//
// The Speaker originates routes and never forwards what it learns: routes
// received from peers are counted (PeerStatus.Received) and discarded.
//
// # Logging
//
// GoBGP's logs go to Config.Logger, one level lower than GoBGP logs them
// (its info becomes debug): at info level the speaker logs only session
// changes, warnings and errors.
package bgp
