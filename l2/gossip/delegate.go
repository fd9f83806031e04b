package gossip

import "github.com/hashicorp/memberlist"

// Node metadata: a version byte, then flags.
const (
	metaVersion  = 1
	flagNotReady = 1 << 0
)

func encodeMeta(ready bool) []byte {
	var flags byte
	if !ready {
		flags |= flagNotReady
	}
	return []byte{metaVersion, flags}
}

// decodeReady reports whether meta says ready. Metadata that is missing
// or from a later version counts as ready.
func decodeReady(meta []byte) bool {
	return len(meta) < 2 || meta[0] != metaVersion || meta[1]&flagNotReady == 0
}

// delegate gives memberlist this node's metadata; it carries no user
// messages or state.
type delegate struct{ c *Cluster }

func (d delegate) NodeMeta(limit int) []byte {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	return encodeMeta(d.c.ready)
}

func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}

// events follows memberlist's view of the members. Memberlist calls it
// with its own locks held: it must not call back into memberlist.
type events struct{ c *Cluster }

func (e events) NotifyJoin(n *memberlist.Node) {
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed && n.Name == c.name {
		return // closing: this node is out already
	}
	c.members[n.Name] = c.member(n)
	if n.Name != c.name {
		c.refresh++
	}
	c.log.Info("gossip: member joined", "member", n.Name, "addr", nodeAddr(n))
	c.updateLocked()
}

func (e events) NotifyLeave(n *memberlist.Node) {
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.members, n.Name)
	c.log.Info("gossip: member gone", "member", n.Name, "state", n.State)
	c.updateLocked()
}

func (e events) NotifyUpdate(n *memberlist.Node) {
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.member(n)
	if old, ok := c.members[n.Name]; ok && old == m || c.closed && n.Name == c.name {
		return
	}
	c.members[n.Name] = m
	c.log.Info("gossip: member updated", "member", n.Name, "ready", m.Ready)
	c.updateLocked()
}

// member converts n; this node's readiness is its own, not as gossiped.
func (c *Cluster) member(n *memberlist.Node) Member {
	m := Member{Name: n.Name, Addr: nodeAddr(n), Ready: decodeReady(n.Meta)}
	if n.Name == c.name {
		m.Ready = c.ready
	}
	return m
}
