package l2

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hookElector is a Rendezvous that records readiness reports and has a
// settable Refresh value.
type hookElector struct {
	*Rendezvous
	refresh atomic.Uint64

	mu    sync.Mutex
	ready []bool
}

func (e *hookElector) SetReady(r bool) {
	e.mu.Lock()
	e.ready = append(e.ready, r)
	e.mu.Unlock()
}

func (e *hookElector) Refresh() uint64 { return e.refresh.Load() }

func (e *hookElector) reports() []bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]bool(nil), e.ready...)
}

var (
	_ ReadyElector = (*hookElector)(nil)
	_ Refresher    = (*hookElector)(nil)
)

func TestReadyReported(t *testing.T) {
	e := &hookElector{Rendezvous: NewRendezvous("a", "a")}
	bad, good := newFakeConn(), newFakeConn()
	a, err := NewWithLinks(context.Background(), Config{Elector: e, Gratuitous: Gratuitous{Count: -1}},
		Link{Interface: &net.Interface{Index: 1, Name: "bad0", HardwareAddr: nodeMAC}, Conn: bad},
		Link{Interface: &net.Interface{Index: 2, Name: "good0", HardwareAddr: nodeMAC}, Conn: good})
	require.NoError(t, err)
	defer a.Close()
	assert.Equal(t, []bool{true}, e.reports(), "reported once at start")
	require.NoError(t, bad.Close())
	require.Eventually(t, func() bool { return len(a.Interfaces()) == 1 }, waitFor, time.Millisecond)
	assert.Equal(t, []bool{true}, e.reports(), "one link left: still ready")
	require.NoError(t, good.Close())
	require.Eventually(t, func() bool { return len(e.reports()) == 2 }, waitFor, time.Millisecond)
	assert.Equal(t, []bool{true, false}, e.reports(), "no link left: not ready")
}

// When the Refresher's value changes, the leader announces again what it
// kept leading; other changes do not make it announce.
func TestRefresh(t *testing.T) {
	e := &hookElector{Rendezvous: NewRendezvous("a", "a", "b")}
	a, c := newTestAnnouncer(t, Config{Elector: e, Gratuitous: Gratuitous{Count: 1, Interval: time.Millisecond}})
	key := "batuu/deathstar"
	if l, _ := e.Leader(key); l != "a" {
		key = "batuu/deathstar2"
	}
	l, _ := e.Leader(key)
	require.Equal(t, "a", l, "a leads %s", key)
	count := func() int {
		n := 0
		for _, s := range c.sent() {
			if ad, ok := subject(s.frame); ok && ad == svcV4 {
				n++
			}
		}
		return n
	}
	announceT(t, a, key, svcV4)
	require.Eventually(t, func() bool { return count() == 1 }, waitFor, time.Millisecond)

	e.SetCandidates("other/key", "b") // a change that does not move key
	time.Sleep(20 * time.Millisecond)
	require.Contains(t, a.Answering(), svcV4)
	assert.Equal(t, 1, count(), "no refresh asked: nothing announced again")

	e.refresh.Add(1)
	e.ClearCandidates("other/key") // fires Changes
	require.Eventually(t, func() bool { return count() == 2 }, waitFor, time.Millisecond)
}

func TestRepeat(t *testing.T) {
	const every = 20 * time.Millisecond
	a, c := newTestAnnouncer(t, Config{Gratuitous: Gratuitous{Count: -1, Repeat: every}})
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	require.Eventually(t, func() bool { return len(c.sent()) >= 9 }, waitFor, time.Millisecond,
		"sentinel, svcV4 and svcV6 announced three times")
	seen := map[netip.Addr]int{}
	for _, s := range c.sent() {
		ad, ok := subject(s.frame)
		require.True(t, ok)
		seen[ad]++
	}
	assert.Len(t, seen, 3)
	require.NoError(t, a.Withdraw(context.Background(), "batuu/deathstar"))
	require.NoError(t, a.Withdraw(context.Background(), "sentinel/svc"))
	n := len(c.sent())
	time.Sleep(3 * every)
	assert.Equal(t, n, len(c.sent()), "nothing repeated after withdrawal")
}

func TestStats(t *testing.T) {
	a, c := newTestAnnouncer(t, Config{Gratuitous: Gratuitous{Count: 2, Interval: time.Millisecond}})
	announceT(t, a, "batuu/deathstar", svcV4, svcV6)
	require.Eventually(t, func() bool { return len(c.sent()) == 6 }, waitFor, time.Millisecond, "bursts")
	exchange(t, c,
		arpRequest(broadcastMAC, clientV4, svcV4),
		arpRequest(broadcastMAC, clientV4, netip.MustParseAddr("172.18.255.9")), // not ours
		nsFrame(nsOpts{src: clientV6, target: svcV6}))
	st := a.Stats()
	require.Len(t, st, 1)
	assert.Equal(t, "fake0", st[0].Interface)
	// exchange's own request for sentinel counts too.
	assert.Equal(t, Counters{Requests: 3, Replies: 2, Gratuitous: 4}, st[0].ARP)
	assert.Equal(t, Counters{Requests: 1, Replies: 1, Gratuitous: 2}, st[0].NDP)
}
