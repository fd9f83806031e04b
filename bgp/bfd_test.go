package bgp_test

import (
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/internal/bird"
	"github.com/lbkit/lbkit/internal/netns"
)

// bfdHold is the BGP hold time of the BFD tests: the detection time of a
// session without BFD.
const bfdHold = 3 * time.Second

// kernelHas reports whether the router namespace's kernel has a route to
// a (installed by the router daemon).
func kernelHas(t testing.TB, ns *netns.NS, a netip.Addr) bool {
	args := []string{"route", "show", a.String()}
	if a.Is6() {
		args = append([]string{"-6"}, args...)
	}
	out, err := ns.Run("ip", args...)
	return err == nil && strings.TrimSpace(out) != "" && !strings.Contains(out, "unreachable")
}

// timeRoutesGone polls the router's kernel until each address in addrs has
// no route, and returns, per address, how long that took from start. An
// address still routed after limit gets limit.
func timeRoutesGone(t testing.TB, ns *netns.NS, start time.Time, limit time.Duration, addrs ...netip.Addr) []time.Duration {
	t.Helper()
	out := make([]time.Duration, len(addrs))
	left := len(addrs)
	for left > 0 && time.Since(start) < limit {
		for i, a := range addrs {
			if out[i] == 0 && !kernelHas(t, ns, a) {
				out[i] = time.Since(start)
				left--
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range out {
		if out[i] == 0 {
			out[i] = limit
		}
	}
	return out
}

// waitKernel waits until the router's kernel routes every address.
func waitKernel(t testing.TB, ns *netns.NS, timeout time.Duration, addrs ...netip.Addr) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, a := range addrs {
			if !kernelHas(t, ns, a) {
				return false
			}
		}
		return true
	}, timeout, 20*time.Millisecond, "routes to %v", addrs)
}

// stable checks for d that the router keeps routing addrs (a session that
// resets drops them for at least a second).
func stable(t testing.TB, ns *netns.NS, d time.Duration, addrs ...netip.Addr) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, a := range addrs {
			require.True(t, kernelHas(t, ns, a), "route to %v lost while the sessions should stay up", a)
		}
	}
}

func bfdPeer(addr netip.Addr) bgp.Peer {
	p := speakerPeer(addr)
	p.HoldTime = bfdHold
	p.BFD = bgp.BFD{Enabled: true}
	return p
}

// TestBIRDBFD: the speaker peers with BIRD twice, over IPv4 with BFD and
// over IPv6 without, both with a 3 s hold time. When the speaker's process
// freezes (SIGSTOP: no TCP close tells BIRD), BIRD drops the IPv4 route
// within BFD's detection time (goal < 1 s with 300 ms × 3) and the IPv6
// route only at the hold time. The sessions come back when the process
// resumes, and stay up. Then the node's packets to the router are dropped
// (a blackhole route in the node namespace), with the same effect on the
// IPv4 route, which comes back when the route is removed.
func TestBIRDBFD(t *testing.T) {
	n4, n6 := birdNeighbor("node4", nodeV4), birdNeighbor("node6", nodeV6)
	n4.HoldTime, n6.HoldTime, n4.BFD = int(bfdHold/time.Second), int(bfdHold/time.Second), true
	l := newBIRDNet(t, nil)
	require.NoError(t, l.bird.Reconfigure(bird.Config{RouterID: routerV4, ASN: routerASN, Kernel: true, BFD: true,
		Neighbors: []bird.Neighbor{n4, n6}}))
	l.speak = startNode(t, l.node, nodeConfig{ASN: speakerASN, RouterID: nodeV4})
	v6 := speakerPeer(routerV6)
	v6.HoldTime = bfdHold
	l.speak.must(nodeRequest{Op: "addpeer", Peer: ptr(bfdPeer(routerV4))})
	l.speak.must(nodeRequest{Op: "addpeer", Peer: &v6})
	l.speak.must(nodeRequest{Op: "announce", Service: &announce.Service{Key: "default/deathstar", Addrs: []netip.Addr{deathstarV4, deathstarV6}}})
	waitKernel(t, l.router, 60*time.Second, deathstarV4, deathstarV6)
	require.Eventually(t, func() bool { return l.speak.bfd(routerV4) == bgp.BFDUp }, 30*time.Second, 50*time.Millisecond)
	stable(t, l.router, 3*time.Second, deathstarV4, deathstarV6)

	for round := range 2 {
		require.NoError(t, syscall.Kill(l.speak.pid, syscall.SIGSTOP))
		gone := timeRoutesGone(t, l.router, time.Now(), 4*bfdHold, deathstarV4, deathstarV6)
		require.NoError(t, syscall.Kill(l.speak.pid, syscall.SIGCONT))
		t.Logf("round %d: frozen speaker: BIRD dropped the route with BFD after %v, without BFD (hold %v) after %v",
			round, gone[0].Round(time.Millisecond), bfdHold, gone[1].Round(time.Millisecond))
		assert.Less(t, gone[0], bfdHold-500*time.Millisecond, "BFD detects before the hold time")
		assert.Less(t, gone[0], gone[1])
		assert.GreaterOrEqual(t, gone[1], bfdHold-time.Second, "the hold time, without BFD")
		waitKernel(t, l.router, 60*time.Second, deathstarV4, deathstarV6)
		require.Eventually(t, func() bool { return l.speak.bfd(routerV4) == bgp.BFDUp }, 30*time.Second, 50*time.Millisecond)
		stable(t, l.router, 3*time.Second, deathstarV4, deathstarV6)
	}

	l.node.MustRun(t, "ip", "route", "add", "blackhole", routerV4.String()+"/32")
	gone := timeRoutesGone(t, l.router, time.Now(), 4*bfdHold, deathstarV4)
	t.Logf("node's packets dropped: BIRD dropped the route with BFD after %v", gone[0].Round(time.Millisecond))
	assert.Less(t, gone[0], bfdHold-500*time.Millisecond)
	l.node.MustRun(t, "ip", "route", "del", "blackhole", routerV4.String()+"/32")
	waitKernel(t, l.router, 60*time.Second, deathstarV4)
	require.Eventually(t, func() bool { return l.speak.bfd(routerV4) == bgp.BFDUp }, 30*time.Second, 50*time.Millisecond)
}

func ptr[T any](v T) *T { return &v }

// bfd returns the node speaker's BFD state for peer addr.
func (n *nodeProc) bfd(addr netip.Addr) bgp.BFDState {
	n.t.Helper()
	for _, p := range n.must(nodeRequest{Op: "peers"}).Peers {
		if p.Address == addr {
			return p.BFD
		}
	}
	return bgp.BFDOff
}
