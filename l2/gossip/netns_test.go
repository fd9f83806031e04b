package gossip_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/internal/netns"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/l2/gossip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The namespace tests: three nodes, each a namespace with eth0 on the
// service segment (bridge br0 in the host namespace, whose kernel is the
// ARP/NDP client) and eth1 on the gossip segment (bridge br1), each
// running the l2 announcer with the gossip elector in its own process.
const (
	nsSvc4   = "172.18.255.201"
	nsSvc6   = "2001:db8:dead:beef::111"
	nsSvcKey = "batuu/deathstar"
	nsSecret = "batuu-secret"
)

func init() { netns.Helpers["gossip-node"] = nodeMain }

// failoverRuns is how many failovers of each kind the namespace tests
// time: a few by default, LBKIT_FAILOVER_RUNS to measure a distribution.
func failoverRuns() int {
	if n, err := strconv.Atoi(os.Getenv("LBKIT_FAILOVER_RUNS")); err == nil && n > 0 {
		return n
	}
	return 2
}

// nodeState is what a node child reports.
type nodeState struct {
	Members   []string
	Answering int
}

// nodeMain runs a gossip member and an announcer on eth0 answering for the
// service, and serves HTTP on the service addresses. Environment: NODE,
// BIND (gossip address:port), JOIN (comma-separated), SECRET.
func nodeMain() int {
	name := os.Getenv("NODE")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", name)
	ctx := context.Background()
	c, err := gossip.New(ctx, gossip.Config{Name: name, Bind: netip.MustParseAddrPort(os.Getenv("BIND")),
		Join: strings.Split(os.Getenv("JOIN"), ","), Secret: []byte(os.Getenv("SECRET")), Logger: log})
	if err != nil {
		log.Error("gossip", "err", err)
		return 1
	}
	defer c.Close()
	a, err := l2.New(ctx, l2.Config{Interfaces: []string{"eth0"}, Elector: c.Elector(), Logger: log,
		Gratuitous: l2.Gratuitous{Count: 3, Interval: 200 * time.Millisecond}})
	if err != nil {
		log.Error("l2", "err", err)
		return 1
	}
	defer a.Close()
	err = a.Announce(ctx, announce.Service{Key: nsSvcKey,
		Addrs: []netip.Addr{netip.MustParseAddr(nsSvc4), netip.MustParseAddr(nsSvc6)}})
	if err != nil {
		log.Error("announce", "err", err)
		return 1
	}
	for _, addr := range []string{nsSvc4 + ":80", "[" + nsSvc6 + "]:80"} {
		if ln, err := net.Listen("tcp", addr); err == nil {
			go func() {
				_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprintf(w, "deathstar via %s\n", name)
				}))
			}()
		}
	}
	return netns.Serve(func(ctx context.Context, req netns.Request) (any, error) {
		switch req.Op {
		case "state":
			st := nodeState{Answering: len(a.Answering())}
			for _, m := range c.Members() {
				st.Members = append(st.Members, m.Name)
			}
			return st, nil
		case "close": // graceful: leave, then stop answering
			return nil, c.Close()
		}
		return nil, fmt.Errorf("unknown op %q", req.Op)
	})
}

// A node is one node namespace and the child running in it.
type node struct {
	name  string
	ns    *netns.NS
	mac   string // eth0's
	port  string // its port on br1, in the host namespace
	cmd   *exec.Cmd
	child *netns.Child
}

type lab struct {
	t     *testing.T // the test that owns the lab: children live as long
	host  *netns.NS
	nodes []*node
	join  string
	mon   *netns.NeighMonitor
}

func newLab(t *testing.T) *lab {
	netns.RequireT(t)
	h := netns.NewT(t, "gsh")
	lb := &lab{t: t, host: h}
	for _, br := range []string{"br0", "br1"} {
		h.MustRun(t, "ip", "link", "add", br, "type", "bridge")
		h.MustRun(t, "ip", "link", "set", br, "up")
	}
	require.NoError(t, h.Addr("br0", "10.77.0.1/24"))
	require.NoError(t, h.Addr("br0", "2001:db8:77::1/64"))
	require.NoError(t, h.Addr("br1", "10.88.0.1/24"))
	h.MustRun(t, "ip", "route", "add", nsSvc4+"/32", "dev", "br0")
	h.MustRun(t, "ip", "-6", "route", "add", nsSvc6+"/128", "dev", "br0")
	lb.mon = h.MonitorNeigh(t)
	var join []string
	for i := range 3 {
		join = append(join, fmt.Sprintf("10.88.0.1%d:7946", i+1))
	}
	lb.join = strings.Join(join, ",")
	for i := range 3 {
		n := &node{name: fmt.Sprintf("node%d", i+1), ns: netns.NewT(t, "gsn"), port: fmt.Sprintf("g%d", i+1)}
		for _, kv := range [][2]string{{"net.ipv4.conf.all.arp_ignore", "1"}, {"net.ipv4.conf.all.arp_announce", "2"}} {
			require.NoError(t, n.ns.Sysctl(kv[0], kv[1]))
		}
		require.NoError(t, n.ns.Addr("lo", nsSvc4+"/32"))
		require.NoError(t, n.ns.Addr("lo", nsSvc6+"/128"))
		netns.VethT(t, h, fmt.Sprintf("s%d", i+1), n.ns, "eth0")
		netns.VethT(t, h, n.port, n.ns, "eth1")
		h.MustRun(t, "ip", "link", "set", fmt.Sprintf("s%d", i+1), "master", "br0")
		h.MustRun(t, "ip", "link", "set", n.port, "master", "br1")
		require.NoError(t, n.ns.Addr("eth0", fmt.Sprintf("10.77.0.1%d/24", i+1)))
		require.NoError(t, n.ns.Addr("eth0", fmt.Sprintf("2001:db8:77::1%d/64", i+1)))
		require.NoError(t, n.ns.Addr("eth1", fmt.Sprintf("10.88.0.1%d/24", i+1)))
		var err error
		n.mac, err = n.ns.MAC("eth0")
		require.NoError(t, err)
		lb.nodes = append(lb.nodes, n)
	}
	for _, n := range lb.nodes {
		lb.start(t, n, nsSecret)
	}
	lb.waitConverged(t, lb.nodes...)
	return lb
}

// start runs n's child with secret.
func (lb *lab) start(t *testing.T, n *node, secret string) {
	t.Helper()
	n.cmd = n.ns.Helper("gossip-node", "NODE="+n.name, "BIND="+strings.Split(lb.join, ",")[slices.Index(lb.nodes, n)],
		"JOIN="+lb.join, "SECRET="+secret)
	var err error
	n.child, err = n.ns.StartChild(context.Background(), n.cmd)
	require.NoError(t, err)
	child := n.child
	lb.t.Cleanup(func() { _ = child.Close() })
}

func (n *node) state(t *testing.T) nodeState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st nodeState
	require.NoError(t, n.child.Call(ctx, "state", nil, &st))
	return st
}

// leaderOf returns which of nodes leads the service by the rendezvous
// function over their names.
func leaderOf(nodes []*node) *node {
	var names []string
	for _, n := range nodes {
		names = append(names, n.name)
	}
	l, _ := l2.NewRendezvous("", names...).Leader(nsSvcKey)
	for _, n := range nodes {
		if n.name == l {
			return n
		}
	}
	return nil
}

// waitConverged waits until nodes see exactly each other, exactly their
// leader answers, and the host's entries point at it. Generous: CI
// machines are loaded.
func (lb *lab) waitConverged(t *testing.T, nodes ...*node) *node {
	t.Helper()
	var want []string
	for _, n := range nodes {
		want = append(want, n.name)
	}
	leader := leaderOf(nodes)
	for _, n := range nodes {
		require.Eventually(t, func() bool {
			st := n.state(t)
			return slices.Equal(st.Members, want) && (st.Answering == 2) == (n == leader)
		}, 30*time.Second, 20*time.Millisecond, "%s converges on %v with leader %s", n.name, want, leader.name)
	}
	for _, ad := range []string{nsSvc4, nsSvc6} {
		_, _ = lb.host.Run("ping", "-c", "1", "-W", "2", ad) // create or refresh the entry
		lb.mon.Wait(t, ad, leader.mac, 30*time.Second)
	}
	return leader
}

// moved waits until the host's entries for both addresses point at mac,
// and returns the later of the two times it saw that.
func (lb *lab) moved(t *testing.T, mac string) time.Time {
	t.Helper()
	t4 := lb.mon.Wait(t, nsSvc4, mac, 20*time.Second)
	t6 := lb.mon.Wait(t, nsSvc6, mac, 20*time.Second)
	if t6.After(t4) {
		return t6
	}
	return t4
}

func (lb *lab) curl(t *testing.T, want *node) {
	t.Helper()
	for _, url := range []string{"http://" + nsSvc4 + "/", "http://[" + nsSvc6 + "]/"} {
		out, err := lb.host.Run("curl", "-sS", "-g", "--max-time", "5", url)
		require.NoError(t, err, out)
		assert.Equal(t, "deathstar via "+want.name+"\n", out, url)
	}
}

// arpingMACs returns the MACs that answer three ARP requests from the host
// for the IPv4 service address.
func (lb *lab) arpingMACs(t *testing.T) map[string]bool {
	t.Helper()
	out, _ := lb.host.Run("arping", "-c", "3", "-w", "4", "-i", "br0", nsSvc4)
	macs := map[string]bool{}
	f := strings.Fields(out) // "60 bytes from MAC (IP): ..."
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "from" {
			macs[strings.ToLower(f[i+1])] = true
		}
	}
	return macs
}

func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p int) time.Duration { return s[(len(s)-1)*p/100].Round(time.Millisecond) }
	return fmt.Sprintf("%d runs: min %v p50 %v p95 %v max %v", len(s), q(0), q(50), q(95), q(100))
}

// failovers times runs failovers: fail takes the leader out, the host's
// entries must follow the next leader and curl reach it, and restore
// brings the old leader back.
func (lb *lab) failovers(t *testing.T, what string, runs int, fail, restore func(leader *node)) {
	t.Helper()
	var ds []time.Duration
	for range runs {
		leader := leaderOf(lb.nodes)
		next := leaderOf(slices.DeleteFunc(slices.Clone(lb.nodes), func(n *node) bool { return n == leader }))
		t0 := time.Now()
		fail(leader)
		ds = append(ds, lb.moved(t, next.mac).Sub(t0))
		lb.curl(t, next)
		restore(leader)
		lb.waitConverged(t, lb.nodes...)
	}
	t.Logf("%s failover, %s", what, summary(ds))
}

// TestNetnsFailover kills the leader's process, closes it, takes its
// service link down, and partitions it, and checks that the host's
// neighbour entries (IPv4 and IPv6) follow the new leader. It logs the
// failover times; set LBKIT_FAILOVER_RUNS=20 to measure a distribution.
func TestNetnsFailover(t *testing.T) {
	lb := newLab(t)
	runs := failoverRuns()

	t.Run("leader killed", func(t *testing.T) {
		lb.failovers(t, "SIGKILL", runs, func(leader *node) {
			require.NoError(t, syscall.Kill(-leader.cmd.Process.Pid, syscall.SIGKILL))
		}, func(leader *node) {
			leader.child.Kill() // reap
			lb.start(t, leader, nsSecret)
		})
	})

	t.Run("graceful close", func(t *testing.T) {
		lb.failovers(t, "Close", runs, func(leader *node) {
			require.NoError(t, leader.child.Call(context.Background(), "close", nil, nil))
		}, func(leader *node) {
			_ = leader.child.Close()
			lb.start(t, leader, nsSecret)
		})
	})

	// The leader keeps gossiping on eth1: it is taken out of the election
	// because its announcer reports that no interface is up.
	t.Run("leader link down", func(t *testing.T) {
		lb.failovers(t, "link-down", runs, func(leader *node) {
			leader.ns.MustRun(t, "ip", "link", "set", "eth0", "down")
		}, func(leader *node) {
			for _, n := range lb.nodes {
				assert.Len(t, n.state(t).Members, 3, "the leader is still a member")
			}
			leader.ns.MustRun(t, "ip", "link", "set", "eth0", "up")
		})
	})

	// Cut from the gossip segment, the leader keeps answering and the
	// others elect a second answerer; once healed, one answers again.
	t.Run("partition and heal", func(t *testing.T) {
		leader := leaderOf(lb.nodes)
		lb.host.MustRun(t, "ip", "link", "set", leader.port, "down")
		answering := func() (n int) {
			for _, nd := range lb.nodes {
				if nd.state(t).Answering == 2 {
					n++
				}
			}
			return n
		}
		require.Eventually(t, func() bool { return answering() == 2 }, 30*time.Second, 50*time.Millisecond,
			"both sides answer during the partition")
		assert.Len(t, lb.arpingMACs(t), 2, "two MACs answer during the partition")
		t0 := time.Now()
		lb.host.MustRun(t, "ip", "link", "set", leader.port, "up")
		require.Eventually(t, func() bool { return answering() == 1 }, 30*time.Second, 20*time.Millisecond,
			"one answers after healing")
		t.Logf("partition healed to one answerer in %v", time.Since(t0).Round(time.Millisecond))
		lb.waitConverged(t, lb.nodes...)
		assert.Equal(t, map[string]bool{leader.mac: true}, lb.arpingMACs(t), "one MAC answers")
	})

	// A node with the wrong secret (in the host namespace, on br1) never
	// becomes a member.
	t.Run("wrong secret", func(t *testing.T) {
		cmd := lb.host.Helper("gossip-node", "NODE=intruder", "BIND=10.88.0.1:7946", "JOIN="+lb.join, "SECRET=wrong")
		c, err := lb.host.StartChild(context.Background(), cmd)
		require.NoError(t, err)
		defer c.Close()
		time.Sleep(3 * time.Second) // three join attempts
		var st nodeState
		require.NoError(t, c.Call(context.Background(), "state", nil, &st))
		assert.Equal(t, []string{"intruder"}, st.Members)
		for _, n := range lb.nodes {
			assert.Equal(t, []string{"node1", "node2", "node3"}, n.state(t).Members)
		}
	})
}
