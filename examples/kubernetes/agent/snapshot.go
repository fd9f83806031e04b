package agent

import (
	"context"
	"slices"

	"github.com/lbkit/lbkit/l2"
)

// Protocols in Announcement.
const (
	ProtocolBGP = "bgp"
	ProtocolL2  = "l2"
)

// An Announcement says that this node announces a service over a protocol:
// over BGP when one of its speakers announces the service's routes, over L2
// when it answers ARP or NDP for it (it leads the service's election).
type Announcement struct {
	Service  string // namespace/name
	Protocol string // ProtocolBGP or ProtocolL2
}

// PeerStatus is one BGP session of the node.
type PeerStatus struct {
	VirtualRouter string // policy/localASN
	Peer          string // the neighbor's address
	Up            bool   // the session is established
	Advertised    uint64 // prefixes advertised to the neighbor
}

// NodeName returns the name of the agent's node.
func (a *Agent) NodeName() string { return a.cfg.NodeName }

// Announcements returns what this node announces now, sorted.
func (a *Agent) Announcements() []Announcement {
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := map[Announcement]bool{}
	for _, s := range a.speakers {
		for key := range s.announced {
			seen[Announcement{key, ProtocolBGP}] = true
		}
	}
	for _, s := range a.l2s {
		for key := range s.announced {
			if l, _ := a.cfg.Election.Leader(key); l == a.cfg.NodeName {
				seen[Announcement{key, ProtocolL2}] = true
			}
		}
	}
	out := make([]Announcement, 0, len(seen))
	for an := range seen {
		out = append(out, an)
	}
	slices.SortFunc(out, func(x, y Announcement) int {
		if x.Service != y.Service {
			return compareStrings(x.Service, y.Service)
		}
		return compareStrings(x.Protocol, y.Protocol)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Peers returns the status of every BGP session of the node.
func (a *Agent) Peers(ctx context.Context) []PeerStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []PeerStatus
	for _, key := range sortedKeys(a.speakers) {
		ps, err := a.speakers[key].sp.Peers(ctx)
		if err != nil {
			continue
		}
		for _, p := range ps {
			out = append(out, PeerStatus{VirtualRouter: key, Peer: p.Address.String(),
				Up: p.State.String() == "established", Advertised: p.Sent})
		}
	}
	return out
}

// L2Stats returns the counters of the node's L2 announcers, summed per
// interface over policies, sorted by interface.
func (a *Agent) L2Stats() []l2.InterfaceStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	sum := map[string]*l2.InterfaceStats{}
	for _, s := range a.l2s {
		for _, st := range s.an.Stats() {
			t := sum[st.Interface]
			if t == nil {
				t = &l2.InterfaceStats{Interface: st.Interface}
				sum[st.Interface] = t
			}
			add(&t.ARP, st.ARP)
			add(&t.NDP, st.NDP)
		}
	}
	out := make([]l2.InterfaceStats, 0, len(sum))
	for _, k := range sortedKeys(sum) {
		out = append(out, *sum[k])
	}
	return out
}

func add(t *l2.Counters, c l2.Counters) {
	t.Requests += c.Requests
	t.Replies += c.Replies
	t.Gratuitous += c.Gratuitous
}

// ElectionChanges returns how often this node saw the leader of an L2
// service change.
func (a *Agent) ElectionChanges() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changes
}
