package l2

import (
	"slices"
	"strings"
	"sync/atomic"
)

// InterfaceStats counts an announcer's work on one interface since it was
// first used, per protocol. Counts survive the interface going away and
// coming back.
type InterfaceStats struct {
	Interface string
	ARP, NDP  Counters
}

// Counters count one protocol's frames on one interface.
type Counters struct {
	Requests   uint64 // well-formed ARP requests or neighbour solicitations received, for any address
	Replies    uint64 // replies sent
	Gratuitous uint64 // gratuitous ARP requests or unsolicited neighbour advertisements sent
}

// linkStats are the live counters behind an InterfaceStats.
type linkStats struct {
	arp, ndp counters
}

type counters struct {
	requests, replies, gratuitous atomic.Uint64
}

func (s *linkStats) of(v4 bool) *counters {
	if v4 {
		return &s.arp
	}
	return &s.ndp
}

func (c *counters) load() Counters {
	return Counters{Requests: c.requests.Load(), Replies: c.replies.Load(), Gratuitous: c.gratuitous.Load()}
}

// Stats returns the counters of every interface the announcer has used,
// sorted by interface name.
func (a *Announcer) Stats() []InterfaceStats {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]InterfaceStats, 0, len(a.stats))
	for name, s := range a.stats {
		out = append(out, InterfaceStats{Interface: name, ARP: s.arp.load(), NDP: s.ndp.load()})
	}
	slices.SortFunc(out, func(x, y InterfaceStats) int { return strings.Compare(x.Interface, y.Interface) })
	return out
}
