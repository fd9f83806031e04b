// Package l2 makes service addresses reachable on a local network segment
// by answering ARP (IPv4) and NDP neighbour solicitations (IPv6) for them,
// as MetalLB's and Cilium's L2 announcements do, without BGP.
//
//	a, err := l2.New(ctx, l2.Config{Interfaces: []string{"eth1"}, Elector: cluster.Elector()})
//	a.Announce(ctx, announce.Service{Key: "batuu/deathstar", Addrs: addrs})
//	defer a.Close()
//
// An [Announcer] implements announce.Announcer. For every address of every
// service whose key this node leads according to its [Elector], it answers
// ARP requests and neighbour solicitations (broadcast, multicast or the
// kernel's unicast re-validation probes) with the receiving interface's
// MAC, and joins the address's solicited-node multicast group. When it
// starts answering for an address it sends Gratuitous.Count gratuitous ARP
// requests and unsolicited neighbour advertisements, so that neighbours
// move their cache entries at once; with Gratuitous.Repeat it repeats them
// periodically, which keeps switches' MAC tables (ageing out after about
// 300 s) pointing at it. When Withdraw returns, nothing more is sent for
// the service's addresses. Malformed or hostile frames, and VLAN-tagged
// frames on an interface that is not that VLAN's, are ignored; another host
// announcing an address this node answers for is logged as a warning.
// [Announcer.Stats] counts requests, replies and announcements.
//
// # Election and failover
//
// [Always] answers for everything (one node, or an external mechanism such
// as keepalived decides). [Rendezvous] elects one node per service by
// rendezvous hashing over a member list the caller maintains: every node
// computes the same winner with no coordination. Package
// [github.com/lbkit/lbkit/l2/gossip] maintains that list with a failure
// detector and fails over within a second. The new leader's gratuitous
// frames move neighbours within about a millisecond of its election. An
// address shared by several services is decided by the smallest of their
// keys. An elector that implements [ReadyElector] is told when none of the
// announcer's interfaces is up, so that other nodes take over.
//
// # The node's own kernel
//
// The node usually holds the service addresses itself (on lo or a dummy
// interface) to accept connections. Its kernel must then not speak for
// IPv4 ones on the segment, or every node answers ARP. Set, on the node:
//
//	sysctl -w net.ipv4.conf.all.arp_ignore=1    # answer only for addresses on the receiving interface
//	sysctl -w net.ipv4.conf.all.arp_announce=2  # never use a non-local-to-the-link source in ARP requests
//
// IPv6 needs no such setting (unless proxy_ndp is on).
//
// # Privileges and platforms
//
// New needs Linux and CAP_NET_RAW. NewWithLinks takes any net.PacketConn
// that carries whole Ethernet frames (such as github.com/mdlayher/packet
// conns, or l2test ports in tests) and works anywhere.
//
// # Concurrency
//
// An Announcer is safe for concurrent use. It runs one goroutine per
// interface, one for the elector, one for interface rescans, one for
// periodic announcements and one per burst of gratuitous frames; Close
// waits for all of them.
package l2
