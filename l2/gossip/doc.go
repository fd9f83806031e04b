// Package gossip detects which nodes are alive with a gossip protocol
// (SWIM, through github.com/hashicorp/memberlist) and elects, for every
// service, the node that answers for it on the local segment: an
// [l2.Elector] that needs no coordinator and notices a dead node within a
// second.
//
//	c, err := gossip.New(ctx, gossip.Config{Name: "node1",
//		Bind: netip.MustParseAddrPort("10.0.0.1:7946"),
//		Join: []string{"10.0.0.2:7946", "10.0.0.3:7946"}, Secret: key})
//	ann, err := l2.New(ctx, l2.Config{Elector: c.Elector()})
//	c.SetCandidates("batuu/deathstar", "node1", "node3") // externalTrafficPolicy: Local
//	defer c.Close() // leaves the cluster: the others take over at once
//
// The leader of a service is the rendezvous winner ([l2.Rendezvous]) among
// the live, ready members that are its candidates, so every node computes
// the same leader from the same view. A member is ready while its
// announcer has an interface up (the announcer tells the elector; the
// member's readiness travels in its gossiped metadata): a node whose
// announcing interface goes down hands its services over even when it
// still gossips on another interface.
//
// # Timing
//
// A node probes one member every ProbeInterval; an unanswered probe makes
// the member suspect, and a suspect is declared dead SuspicionMult probe
// intervals later once another member confirms the suspicion. Failover
// after a crash therefore takes about (SuspicionMult + 1..3) ×
// ProbeInterval: with the defaults (100 ms, 3) 0.4–0.7 s, measured with
// three nodes. Each node sends one probe and answers one per
// ProbeInterval, about 1.4 kB/s with the defaults whatever the cluster
// size, plus gossip while something changes and a full state exchange
// every PushPullInterval; halving ProbeInterval halves failover time and
// doubles that traffic. A graceful Close or a node's interface going down
// is seen within tens of milliseconds. On loaded nodes or a lossy network,
// raise ProbeTimeout and SuspicionMult to avoid false failovers: a node
// starved of CPU for longer than ProbeTimeout is suspected.
//
// # Partitions
//
// Members that cannot reach each other declare each other dead, and each
// side elects its own leaders: both sides may answer for an address until
// the partition heals (as with MetalLB). Every RejoinInterval a node joins
// again the peers of Config.Join that are not members; once the sides
// merge, one leader remains per service and it sends gratuitous frames
// again so that neighbours that followed the other side's leader come back.
// List every node, or a stable subset reachable from all, in Join.
//
// # Security
//
// With Config.Secret set, every message is encrypted and authenticated
// (AES-GCM, key = SHA-256 of the secret): a node without the secret cannot
// join, and cannot inject or read membership state.
//
// # Concurrency
//
// A Cluster is safe for concurrent use. It runs memberlist's goroutines,
// one that rejoins peers and one that gossips readiness changes; Close
// stops them all.
package gossip
