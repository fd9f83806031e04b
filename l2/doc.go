// Package l2 makes service addresses reachable on a local network segment
// by answering ARP (IPv4) and NDP neighbour solicitations (IPv6) for them,
// as MetalLB's and Cilium's L2 announcements do, without BGP.
//
// An [Announcer] (from [New], or [NewWithLinks] with injected connections)
// implements announce.Announcer. For every address of every service whose
// key this node leads according to its [Elector], it
//
//   - answers ARP requests, broadcast or unicast (the kernel re-validates
//     neighbour entries with unicast probes), with a unicast reply carrying
//     the receiving interface's MAC;
//   - answers neighbour solicitations, multicast to the solicited-node group
//     or unicast to the address itself (neighbour unreachability detection),
//     with or without a source link-layer option, with a neighbour
//     advertisement unicast to the solicitor from the service address, hop
//     limit 255, Solicited and Override set and the target link-layer option
//     (duplicate address detection probes get the advertisement at ff02::1);
//   - joins the solicited-node multicast group of each IPv6 address on each
//     interface, and leaves it when the address goes;
//   - on starting to answer (announce, election, or an interface appearing)
//     sends Gratuitous.Count broadcast gratuitous ARP requests (sender IP =
//     target IP = the address) and unsolicited neighbour advertisements (to
//     ff02::1, Override set), Gratuitous.Interval apart, so that neighbours
//     move their cache entries at once;
//   - stops at once on withdrawal or loss of leadership: when Withdraw
//     returns, nothing more is sent for the address.
//
// Everything else, and every malformed, truncated or hostile frame, is
// ignored, as are VLAN-tagged frames arriving on an interface that is not
// that VLAN's. A gratuitous ARP request from another host for an address
// this node answers for is logged as a warning (at most every ten seconds
// per address): two nodes believe they lead, or a node's kernel speaks for
// the address (see below). Gratuitous.Repeat makes the leader announce
// periodically, so that switches keep its port learnt. [Announcer.Stats]
// counts requests, replies and announcements per interface.
//
// # Election and failover
//
// [Always] answers for everything (one node, or an external mechanism such
// as keepalived decides). [Rendezvous] elects one node per service by
// rendezvous hashing over a member list the caller maintains: every node
// computes the same winner with no coordination. Package
// [github.com/lbkit/lbkit/l2/gossip] maintains that list with a failure
// detector and fails over within a second. When the elector changes its
// mind, the announcer re-evaluates within milliseconds and the new leader
// sends its gratuitous frames, which move neighbours' cache entries at
// once: failover time is the failure detection time plus about a
// millisecond. An address shared by several services is decided by the
// smallest of their keys. An elector that implements [ReadyElector] is
// told when none of the announcer's interfaces is up, so that other nodes
// take over.
//
// # The node's own kernel
//
// The announcer answers for addresses the node's kernel does not have to
// hold. To accept connections the node usually holds them anyway, on lo or
// a dummy interface, or intercepts them (IPVS, eBPF, nftables). If the
// kernel holds a service IPv4 address it must not speak for it on the
// segment, or it will answer ARP itself on every node, and advertise the
// address as the sender of its own ARP requests, rewriting neighbours'
// caches. Set, on the node:
//
//	sysctl -w net.ipv4.conf.all.arp_ignore=1    # answer only for addresses on the receiving interface
//	sysctl -w net.ipv4.conf.all.arp_announce=2  # never use a non-local-to-the-link source in ARP requests
//
// IPv6 needs no such setting: Linux answers solicitations only for
// addresses on the receiving interface (unless proxy_ndp is on).
//
// # Privileges and platforms
//
// New needs Linux and CAP_NET_RAW. NewWithLinks takes any net.PacketConn
// that carries whole Ethernet frames (such as github.com/mdlayher/packet
// conns, or fakes in tests) and works anywhere.
//
// # Concurrency
//
// An Announcer is safe for concurrent use. It runs one goroutine per
// interface, one for the elector, one for interface rescans and one per
// burst of gratuitous frames; Close waits for all of them.
package l2
