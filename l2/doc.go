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
// ignored. A gratuitous ARP request from another host for an address this
// node answers for is not answered but logged as a warning (at most every
// ten seconds per address): two nodes believe they lead, or a node's kernel
// speaks for the address (see below). Frames are read from one AF_PACKET socket per interface with a
// BPF filter that passes only ARP and neighbour solicitations, so unicast
// solicitations for addresses the kernel does not hold still arrive (a raw
// ICMPv6 socket would never see them).
//
// # Election and failover
//
// [Always] answers for everything (one node, or an external mechanism such
// as keepalived decides). [Rendezvous] elects one node per service by
// rendezvous hashing over a member list the caller maintains (for example
// from Kubernetes node readiness or a memberlist): every node computes the
// same winner with no coordination. When a member is marked dead or
// removed, the announcer re-evaluates within milliseconds and the new
// leader sends its gratuitous frames, which move neighbours' cache entries
// immediately; failover time is therefore the failure detection time plus
// about a millisecond. An address shared by several services is decided by
// the smallest of their keys.
//
// Elector changes are applied to the state they lead to: a node that leads
// a service before and after a burst of changes does not announce again.
// Interfaces selected by name stay in use while down and are announced on
// again when they come back up.
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
//
// # Deviations from the design sketch
//
// The gratuitous settings type is named Gratuitous, Config has a Rescan
// period (interfaces are rescanned at once on rtnetlink link events, and
// periodically as a safety net), and
// [Announcer.Answering] and [Announcer.Interfaces] report state.
// Elector.Changes returns a channel that is closed on change (call Changes
// again afterwards), so one elector can serve several announcers.
package l2
