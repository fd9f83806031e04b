package l2

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/mdlayher/arp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAlways(t *testing.T) {
	e := Always()
	assert.True(t, e.Leads("any/thing"))
	assert.Nil(t, e.Changes())
}

// leaderModel is the reference model: the live member with the highest
// weight, ties to the smaller name.
func leaderModel(members []string, dead map[string]bool, key string) (string, bool) {
	best, found := "", false
	for _, m := range members {
		if dead[m] {
			continue
		}
		if !found || weight(m, key) > weight(best, key) || (weight(m, key) == weight(best, key) && m < best) {
			best, found = m, true
		}
	}
	return best, found
}

func TestRendezvousAgreesAndMatchesModel(t *testing.T) {
	members := []string{"node-c", "node-a", "node-b", "node-d"}
	nodes := map[string]*Rendezvous{}
	for _, m := range members {
		nodes[m] = NewRendezvous(m, members...)
	}
	dead := map[string]bool{"node-b": true}
	for _, n := range nodes {
		n.MarkDead("node-b")
	}
	for i := range 1000 {
		key := fmt.Sprintf("ns/svc-%d", i)
		want, ok := leaderModel(members, dead, key)
		require.True(t, ok)
		leaders := 0
		for name, n := range nodes {
			got, ok := n.Leader(key)
			require.True(t, ok)
			require.Equal(t, want, got, "every node agrees with the model")
			if n.Leads(key) {
				leaders++
				assert.Equal(t, want, name)
			}
		}
		require.Equal(t, 1, leaders, "exactly one leader for %s", key)
	}
}

func TestRendezvousMinimalMovement(t *testing.T) {
	members := []string{"a", "b", "c", "d", "e"}
	r := NewRendezvous("a", members...)
	before := map[string]string{}
	count := map[string]int{}
	for i := range 5000 {
		k := fmt.Sprintf("k%d", i)
		before[k], _ = r.Leader(k)
		count[before[k]]++
	}
	for _, m := range members {
		assert.InDelta(t, 1000, count[m], 150, "roughly even spread: %s", m)
	}
	r.MarkDead("c")
	for k, was := range before {
		now, _ := r.Leader(k)
		if was != "c" {
			assert.Equal(t, was, now, "only the dead member's services move")
		} else {
			assert.NotEqual(t, "c", now)
		}
	}
	r.MarkAlive("c")
	for k, was := range before {
		now, _ := r.Leader(k)
		assert.Equal(t, was, now, "revival restores")
	}
}

func TestRendezvousChanges(t *testing.T) {
	r := NewRendezvous("a", "a", "b")
	fired := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	steps := []struct {
		name   string
		do     func()
		change bool
	}{
		{"same members", func() { r.SetMembers("b", "a", "a") }, false},
		{"mark non-member dead", func() { r.MarkDead("z") }, false},
		{"mark dead", func() { r.MarkDead("b") }, true},
		{"mark dead again", func() { r.MarkDead("b") }, false},
		{"mark alive", func() { r.MarkAlive("b") }, true},
		{"add member", func() { r.SetMembers("a", "b", "c") }, true},
		{"mark alive when alive", func() { r.MarkAlive("c") }, false},
		{"set candidates", func() { r.SetCandidates("k", "c", "a") }, true},
		{"same candidates", func() { r.SetCandidates("k", "a", "c", "c") }, false},
		{"replace candidates", func() { r.SetCandidates("k", "a") }, true},
		{"clear candidates", func() { r.ClearCandidates("k") }, true},
		{"clear candidates again", func() { r.ClearCandidates("k") }, false},
		{"empty candidates", func() { r.SetCandidates("k") }, true},
	}
	for _, s := range steps {
		ch := r.Changes()
		s.do()
		assert.Equal(t, s.change, fired(ch), s.name)
	}
	assert.Equal(t, []string{"a", "b", "c"}, r.Members())
	assert.Equal(t, "a", r.Self())
}

func TestRendezvousEdges(t *testing.T) {
	r := NewRendezvous("a", "a")
	assert.True(t, r.Leads("k"))
	r.MarkDead("a")
	_, ok := r.Leader("k")
	assert.False(t, ok, "no live member")
	assert.False(t, r.Leads("k"))
	assert.False(t, r.Alive("a"))
	r.SetMembers("b")
	r.SetMembers("a", "b")
	assert.True(t, r.Alive("a"), "leaving the list forgets the mark")
	assert.False(t, NewRendezvous("x", "a", "b").Leads("k"), "a non-member never leads")
}

// The leader of a service with candidates is the rendezvous winner among
// its live candidates: the same as over a member list of only them.
func TestRendezvousCandidates(t *testing.T) {
	members := []string{"node1", "node2", "node3", "node4", "node5"}
	r := NewRendezvous("node1", members...)
	for i := range 200 {
		key := fmt.Sprintf("ns/svc%d", i)
		cands := []string{members[i%5], members[(i+2)%5], "not-a-member"}
		r.SetCandidates(key, cands...)
		want, _ := NewRendezvous("", cands[:2]...).Leader(key)
		got, ok := r.Leader(key)
		require.True(t, ok)
		require.Equal(t, want, got, key)

		r.MarkDead(want)
		other := cands[0]
		if other == want {
			other = cands[1]
		}
		got, _ = r.Leader(key)
		require.Equal(t, other, got, "%s: the other candidate takes over", key)
		r.MarkDead(other)
		_, ok = r.Leader(key)
		require.False(t, ok, "%s: no live candidate, nobody leads", key)
		r.MarkAlive(want)
		r.MarkAlive(other)
	}
	got, ok := r.Candidates("ns/svc0")
	assert.True(t, ok)
	assert.Equal(t, []string{"node1", "node3", "not-a-member"}, got)
	r.SetCandidates("k")
	_, ok = r.Leader("k")
	assert.False(t, ok, "empty candidate set: nobody leads")
	r.ClearCandidates("k")
	_, ok = r.Leader("k")
	assert.True(t, ok, "cleared: every member is a candidate")
	_, ok = r.Candidates("k")
	assert.False(t, ok)
}

// On an election change the new leader announces and answers; the old one
// stops.
func TestElectionChange(t *testing.T) {
	members := []string{"node-a", "node-b"}
	key := keyLedBy(t, "node-a", members)
	type node struct {
		e    *Rendezvous
		a    *Announcer
		c    *fakeConn
		mac  net.HardwareAddr
		name string
	}
	var nodes []*node
	for i, name := range members {
		n := &node{e: NewRendezvous(name, members...), c: newFakeConn(), name: name,
			mac: net.HardwareAddr{0x02, 0, 0, 0, 0x0a, byte(i)}}
		var err error
		n.a, err = NewWithLinks(context.Background(), Config{Elector: n.e, Gratuitous: Gratuitous{Count: 2, Interval: time.Millisecond}},
			Link{Interface: &net.Interface{Index: 1, Name: "eth0", HardwareAddr: n.mac}, Conn: n.c})
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.a.Close() })
		require.NoError(t, n.a.Announce(context.Background(), announce.Service{Key: key, Addrs: []netip.Addr{svcV4}}))
		nodes = append(nodes, n)
	}
	a, b := nodes[0], nodes[1]
	require.Eventually(t, func() bool { return len(a.c.sent()) == 2 }, waitFor, time.Millisecond, "leader announces")
	assert.Equal(t, []netip.Addr{svcV4}, a.a.Answering())
	assert.Empty(t, b.a.Answering())
	assert.Empty(t, b.c.sent(), "follower silent")

	a.c.reset()
	for _, n := range nodes {
		n.e.MarkDead("node-a")
	}
	require.Eventually(t, func() bool { return len(b.c.sent()) == 2 }, waitFor, time.Millisecond, "new leader announces")
	for _, s := range b.c.sent() {
		d, ok := decodeARP(s.frame)
		require.True(t, ok)
		assert.Equal(t, arp.OperationRequest, d.p.Operation)
		assert.Equal(t, b.mac, d.p.SenderHardwareAddr)
		assert.Equal(t, svcV4, d.p.SenderIP)
	}
	assert.Empty(t, a.a.Answering())
	aReads := a.c.reads.Load()
	for _, n := range nodes {
		n.c.deliver(arpRequest(broadcastMAC, clientV4, svcV4))
	}
	require.Eventually(t, func() bool { return len(b.c.sent()) == 3 }, waitFor, time.Millisecond, "new leader replies")
	d, _ := decodeARP(b.c.sent()[2].frame)
	assert.Equal(t, arp.OperationReply, d.p.Operation)
	// The old leader handled the same request (it is reading again) in
	// silence.
	require.Eventually(t, func() bool { return a.c.reads.Load() > aReads }, waitFor, time.Millisecond)
	assert.Empty(t, a.c.sent(), "old leader silent")
}

func keyLedBy(t *testing.T, leader string, members []string) string {
	r := NewRendezvous(leader, members...)
	for i := range 100 {
		if k := fmt.Sprintf("batuu/deathstar-%d", i); r.Leads(k) {
			return k
		}
	}
	t.Fatal("no key led by " + leader)
	return ""
}

// subscribeCounter is an Elector that counts calls of Changes.
type subscribeCounter struct {
	Elector
	calls atomic.Int64
}

func (s *subscribeCounter) Changes() <-chan struct{} {
	s.calls.Add(1)
	return s.Elector.Changes()
}

// TestSubscribedOnReturn checks that the announcer takes the elector's
// Changes channel before New returns: a channel taken later, by a goroutine
// not yet scheduled, would miss a change made between New and the first
// Announce, and the node would go on answering after losing leadership.
func TestSubscribedOnReturn(t *testing.T) {
	e := &subscribeCounter{Elector: NewRendezvous("node-a", "node-a")}
	a, err := NewWithLinks(context.Background(), Config{Elector: e},
		Link{Interface: &net.Interface{Index: 1, Name: "eth0", HardwareAddr: nodeMAC}, Conn: newFakeConn()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	assert.Positive(t, e.calls.Load(), "Changes called before NewWithLinks returned")
}
