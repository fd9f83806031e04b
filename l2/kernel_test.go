package l2

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbkit/lbkit/internal/netns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Addresses of the privileged tests, all inside namespaces the tests
// create: the segment 10.77.0.0/24 and 2001:db8:77::/64, the reference
// scenario's service addresses.
const (
	kSvc4    = "172.18.255.201"
	kSvc6    = "2001:db8:dead:beef::111"
	kSvcKey  = "batuu/deathstar"
	kSNGroup = "33:33:ff:00:01:11" // solicited-node group of kSvc6, at the link layer
)

// A nodeProc is an announcer running in a node namespace (nodeMain),
// driven by calls (netns.StartChild).
type nodeProc struct {
	ns    *netns.NS
	child *netns.Child
}

func startNode(tb testing.TB, ns *netns.NS, env ...string) *nodeProc {
	tb.Helper()
	cmd := ns.Helper("l2-node", env...)
	cmd.Stderr = logWriter{tb}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	child, err := ns.StartChild(ctx, cmd)
	require.NoError(tb, err, "node helper")
	tb.Cleanup(child.Kill)
	return &nodeProc{ns: ns, child: child}
}

// logWriter sends a helper's logs to the test log.
type logWriter struct{ tb testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// do runs a command ("announce KEY ADDR...", see nodeMain) and returns its
// answer.
func (n *nodeProc) do(tb testing.TB, line string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := strings.Fields(line)
	var out string
	require.NoError(tb, n.child.Call(ctx, f[0], f[1:], &out), "node helper: %s", line)
	return out
}

func (n *nodeProc) waitAnswering(tb testing.TB, count int) {
	tb.Helper()
	require.Eventually(tb, func() bool {
		return n.do(tb, "answering") == strconv.Itoa(count)
	}, 10*time.Second, time.Millisecond, "node answers for %d addresses", count)
}

func (n *nodeProc) waitIface(tb testing.TB, name string) {
	tb.Helper()
	require.Eventually(tb, func() bool {
		return slices.Contains(strings.Split(n.do(tb, "ifaces"), ","), name)
	}, 10*time.Second, 20*time.Millisecond, "announcer picks up %s", name)
}

// nodeNS prepares a node namespace whose kernel holds the service
// addresses on lo, silenced on the segment by arp_ignore/arp_announce as
// the package documentation advises.
func nodeNS(tb testing.TB, prefix string) *netns.NS {
	tb.Helper()
	ns := netns.NewT(tb, prefix)
	for _, kv := range [][2]string{
		{"net.ipv4.conf.all.arp_ignore", "1"},
		{"net.ipv4.conf.all.arp_announce", "2"},
	} {
		require.NoError(tb, ns.Sysctl(kv[0], kv[1]))
	}
	require.NoError(tb, ns.Addr("lo", kSvc4+"/32"))
	require.NoError(tb, ns.Addr("lo", kSvc6+"/128"))
	return ns
}

// hostRoutes makes the service addresses on-link on dev in the client
// namespace, so that its kernel resolves them with ARP and NDP, and makes
// it probe stale entries after one second.
func hostRoutes(tb testing.TB, host *netns.NS, dev string) {
	tb.Helper()
	host.MustRun(tb, "ip", "route", "add", "172.18.255.200/29", "dev", dev)
	host.MustRun(tb, "ip", "-6", "route", "add", "2001:db8:dead:beef::/64", "dev", dev)
	for _, fam := range []string{"ipv4", "ipv6"} {
		require.NoError(tb, host.Sysctl("net."+fam+".neigh."+dev+".delay_first_probe_time", "1"))
	}
}

func run(ns *netns.NS, name string, args ...string) (string, error) {
	out, err := ns.Command(name, args...).CombinedOutput()
	return string(out), err
}

func neighMAC(tb testing.TB, host *netns.NS, addr, dev string) (mac, state string) {
	tb.Helper()
	f := strings.Fields(host.MustRun(tb, "ip", "neigh", "show", addr, "dev", dev))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "lladdr" {
			mac = f[i+1]
		}
	}
	if len(f) > 0 {
		state = f[len(f)-1]
	}
	return mac, state
}

// newKernelPair starts an announcer (on eth0 and interfaces named late0,
// late1...) in a node namespace linked to a host namespace by a veth pair.
func newKernelPair(t *testing.T) (host, node *netns.NS, n *nodeProc) {
	netns.RequireT(t)
	host = netns.NewT(t, "l2h")
	node = nodeNS(t, "l2n")
	netns.VethT(t, host, "eth0", node, "eth0")
	require.NoError(t, host.Addr("eth0", "10.77.0.1/24"))
	require.NoError(t, host.Addr("eth0", "2001:db8:77::1/64"))
	require.NoError(t, node.Addr("eth0", "10.77.0.2/24"))
	require.NoError(t, node.Addr("eth0", "2001:db8:77::2/64"))
	hostRoutes(t, host, "eth0")
	n = startNode(t, node, "L2_SELF=node", "L2_IFACES=eth0,late[0-9]+",
		"L2_HTTP="+kSvc4+":80,["+kSvc6+"]:80")
	n.waitIface(t, "eth0")
	return host, node, n
}

// TestKernel runs the announcer in a node namespace and uses the kernel
// and tools of a host namespace as clients across a veth pair.
func TestKernel(t *testing.T) {
	host, node, n := newKernelPair(t)
	mac, err := node.MAC("eth0")
	require.NoError(t, err)

	silent := func(t *testing.T) {
		t.Helper()
		out, err := run(host, "arping", "-c", "2", "-w", "2", "-r", "-i", "eth0", kSvc4)
		assert.Error(t, err, "arping answered: %s", out)
		out, err = run(host, "ndisc6", "-q", "-r", "2", "-w", "300", kSvc6, "eth0")
		assert.Error(t, err, "ndisc6 answered: %s", out)
		assert.NotContains(t, node.MustRun(t, "ip", "maddr", "show", "dev", "eth0"), kSNGroup)
	}

	t.Run("node kernel alone is silent", silent)

	t.Run("announce", func(t *testing.T) {
		n.do(t, "announce "+kSvcKey+" "+kSvc4+" "+kSvc6)
		maddr := node.MustRun(t, "ip", "maddr", "show", "dev", "eth0")
		assert.Contains(t, maddr, kSNGroup, "link-layer membership")
		assert.Contains(t, maddr, "ff02::1:ff00:111", "IPv6 membership (MLD)")

		out, err := run(host, "arping", "-c", "1", "-w", "3", "-r", "-i", "eth0", kSvc4)
		require.NoError(t, err, out)
		assert.Equal(t, mac, strings.ToLower(strings.TrimSpace(out)), "arping")
		out, err = run(host, "arping", "-c", "1", "-w", "3", "-r", "-i", "eth0", "-t", mac, kSvc4)
		require.NoError(t, err, out)
		assert.Equal(t, mac, strings.ToLower(strings.TrimSpace(out)), "unicast arping")
		out, err = run(host, "ndisc6", "-q", "-1", "-r", "3", "-w", "1000", kSvc6, "eth0")
		require.NoError(t, err, out)
		assert.Equal(t, mac, strings.ToLower(strings.TrimSpace(out)), "ndisc6")

		for _, url := range []string{"http://" + kSvc4 + "/v1/", "http://[" + kSvc6 + "]/v1/"} {
			out, err := run(host, "curl", "-sS", "-g", "--max-time", "5", url)
			require.NoError(t, err, out)
			assert.Equal(t, "deathstar /v1/ via node\n", out, url)
		}
		for _, addr := range []string{kSvc4, kSvc6} {
			got, state := neighMAC(t, host, addr, "eth0")
			assert.Equal(t, mac, got, "host kernel's neighbour entry for %s (%s)", addr, state)
		}
	})

	// The kernel re-validates a stale entry in use with unicast probes to
	// the address itself; unanswered, the entry would go FAILED.
	t.Run("unicast probes", func(t *testing.T) {
		for _, addr := range []string{kSvc4, kSvc6} {
			host.MustRun(t, "ip", "neigh", "replace", addr, "dev", "eth0", "lladdr", mac, "nud", "stale")
			_, _ = run(host, "ping", "-c", "1", "-W", "1", addr) // STALE -> DELAY -> PROBE
			var state string
			require.Eventually(t, func() bool {
				_, state = neighMAC(t, host, addr, "eth0")
				return state == "REACHABLE" || state == "FAILED"
			}, 10*time.Second, 50*time.Millisecond, "%s", addr)
			assert.Equal(t, "REACHABLE", state, addr)
		}
	})

	t.Run("interface appearing later", func(t *testing.T) {
		netns.VethT(t, host, "eth1", node, "late0")
		require.NoError(t, host.Addr("eth1", "10.78.0.1/24"))
		lateMAC, err := node.MAC("late0")
		require.NoError(t, err)
		n.waitIface(t, "late0")
		out, err := run(host, "arping", "-c", "1", "-w", "3", "-r", "-i", "eth1", kSvc4)
		require.NoError(t, err, out)
		assert.Equal(t, lateMAC, strings.ToLower(strings.TrimSpace(out)))

		// Matched by a regular expression only: dropped while down.
		node.MustRun(t, "ip", "link", "set", "late0", "down")
		require.Eventually(t, func() bool { return !slices.Contains(strings.Split(n.do(t, "ifaces"), ","), "late0") },
			10*time.Second, 20*time.Millisecond, "late0 dropped when down")
		node.MustRun(t, "ip", "link", "set", "late0", "up")
		n.waitIface(t, "late0")
		node.MustRun(t, "ip", "link", "del", "late0")
		require.Eventually(t, func() bool { return n.do(t, "ifaces") == "eth0" },
			10*time.Second, 20*time.Millisecond, "late0 dropped when deleted")
	})

	// Named, so kept while down; when it comes back up the announcer tells
	// the neighbours again.
	t.Run("named interface down and up", func(t *testing.T) {
		node.MustRun(t, "ip", "link", "set", "eth0", "down")
		require.Eventually(t, func() bool { return strings.Contains(host.MustRun(t, "ip", "link", "show", "eth0"), "NO-CARRIER") },
			10*time.Second, 10*time.Millisecond)
		host.MustRun(t, "ip", "neigh", "replace", kSvc4, "dev", "eth0", "lladdr", "02:00:00:00:00:99", "nud", "stale")
		assert.Equal(t, "eth0", n.do(t, "ifaces"))
		node.MustRun(t, "ip", "link", "set", "eth0", "up")
		require.Eventually(t, func() bool {
			got, _ := neighMAC(t, host, kSvc4, "eth0")
			return got == mac
		}, 10*time.Second, 10*time.Millisecond, "gratuitous ARP on link up moves the host's entry")
		out, err := run(host, "arping", "-c", "1", "-w", "3", "-r", "-i", "eth0", kSvc4)
		require.NoError(t, err, out)
		assert.Equal(t, mac, strings.ToLower(strings.TrimSpace(out)))
		assert.Equal(t, "eth0", n.do(t, "ifaces"))
	})

	// Every request above was counted, and answered, on eth0.
	t.Run("stats", func(t *testing.T) {
		var c [6]uint64
		_, err := fmt.Sscan(n.do(t, "stats eth0"), &c[0], &c[1], &c[2], &c[3], &c[4], &c[5])
		require.NoError(t, err)
		arpReq, arpRep, arpGrat, ndpReq, ndpRep, ndpGrat := c[0], c[1], c[2], c[3], c[4], c[5]
		assert.GreaterOrEqual(t, arpRep, uint64(3), "arping twice, the kernel at least once")
		assert.GreaterOrEqual(t, arpReq, arpRep)
		assert.GreaterOrEqual(t, ndpRep, uint64(2), "ndisc6, the kernel")
		assert.GreaterOrEqual(t, ndpReq, ndpRep)
		assert.GreaterOrEqual(t, arpGrat, uint64(3), "the burst on announce")
		assert.GreaterOrEqual(t, ndpGrat, uint64(3))
	})

	t.Run("withdraw", func(t *testing.T) {
		n.do(t, "withdraw "+kSvcKey)
		silent(t)
	})
}

// A failoverLab is a host namespace bridging two node namespaces whose
// announcers elect one leader for kSvcKey with a Rendezvous elector.
type failoverLab struct {
	host       *netns.NS
	a, b       *nodeProc // a leads while alive
	macA, macB string
	mon        *netns.NeighMonitor
}

func newFailoverLab(tb testing.TB) *failoverLab {
	tb.Helper()
	netns.RequireT(tb)
	lab := &failoverLab{host: netns.NewT(tb, "l2fh")}
	h := lab.host
	h.MustRun(tb, "ip", "link", "add", "br0", "type", "bridge")
	h.MustRun(tb, "ip", "link", "set", "br0", "up")
	require.NoError(tb, h.Addr("br0", "10.77.0.1/24"))
	require.NoError(tb, h.Addr("br0", "2001:db8:77::1/64"))
	hostRoutes(tb, h, "br0")
	lab.mon = h.MonitorNeigh(tb)

	// node-a must lead kSvcKey while alive: check the hash agrees.
	e := NewRendezvous("", "node-a", "node-b")
	leader, _ := e.Leader(kSvcKey)
	require.Equal(tb, "node-a", leader)

	for i, name := range []string{"node-a", "node-b"} {
		ns := nodeNS(tb, "l2f"+name[5:])
		port := "p" + name[5:]
		netns.VethT(tb, h, port, ns, "eth0")
		h.MustRun(tb, "ip", "link", "set", port, "master", "br0")
		require.NoError(tb, ns.Addr("eth0", "10.77.0."+string(rune('2'+i))+"/24"))
		require.NoError(tb, ns.Addr("eth0", "2001:db8:77::"+string(rune('2'+i))+"/64"))
		mac, err := ns.MAC("eth0")
		require.NoError(tb, err)
		n := startNode(tb, ns, "L2_SELF="+name, "L2_MEMBERS=node-a,node-b", "L2_IFACES=eth0",
			"L2_HTTP="+kSvc4+":80")
		n.waitIface(tb, "eth0")
		n.do(tb, "announce "+kSvcKey+" "+kSvc4+" "+kSvc6)
		if i == 0 {
			lab.a, lab.macA = n, mac
		} else {
			lab.b, lab.macB = n, mac
		}
	}
	// Give the host kernel entries to move.
	for _, addr := range []string{kSvc4, kSvc6} {
		out, err := run(h, "ping", "-c", "1", "-W", "3", addr)
		require.NoError(tb, err, out)
	}
	lab.mon.Wait(tb, kSvc4, lab.macA, 10*time.Second)
	return lab
}

// failover makes node-a lead, then marks it dead on both nodes, and
// returns how long the host's entries took to move to node-b's MAC from
// the moment node-b learnt that node-a is dead.
func (lab *failoverLab) failover(tb testing.TB) (v4, v6 time.Duration) {
	tb.Helper()
	// Each node applies an election change asynchronously (within
	// milliseconds); wait for each step, so that the two never both answer.
	lab.b.do(tb, "alive node-a")
	lab.b.waitAnswering(tb, 0)
	lab.a.do(tb, "alive node-a")
	lab.mon.Wait(tb, kSvc4, lab.macA, 10*time.Second)
	lab.mon.Wait(tb, kSvc6, lab.macA, 10*time.Second)
	lab.a.do(tb, "dead node-a") // the leader is gone
	lab.a.waitAnswering(tb, 0)
	t0 := time.Now()
	lab.b.do(tb, "dead node-a") // the survivor learns it
	return lab.mon.Wait(tb, kSvc4, lab.macB, 10*time.Second).Sub(t0), lab.mon.Wait(tb, kSvc6, lab.macB, 10*time.Second).Sub(t0)
}

// TestKernelFailover moves the service between two nodes bridged to a host
// 20 times by marking the leader dead, then once by killing it, and logs
// how long the host's neighbour entries took to follow.
func TestKernelFailover(t *testing.T) {
	lab := newFailoverLab(t)
	var v4s, v6s []time.Duration
	for range 20 {
		v4, v6 := lab.failover(t)
		v4s, v6s = append(v4s, v4), append(v6s, v6)
	}
	t.Logf("failover by MarkDead, 20 runs: IPv4 %s; IPv6 %s", summary(v4s), summary(v6s))

	t.Run("leader killed", func(t *testing.T) {
		lab.b.do(t, "alive node-a")
		lab.b.waitAnswering(t, 0)
		lab.a.do(t, "alive node-a")
		lab.mon.Wait(t, kSvc4, lab.macA, 10*time.Second)
		lab.a.child.Kill() // gone without a word
		t0 := time.Now()
		lab.b.do(t, "dead node-a")
		d := lab.mon.Wait(t, kSvc4, lab.macB, 10*time.Second).Sub(t0)
		t.Logf("failover after kill: IPv4 %v", d)
		out, err := run(lab.host, "curl", "-sS", "--max-time", "5", "http://"+kSvc4+"/v1/")
		require.NoError(t, err, out)
		assert.Equal(t, "deathstar /v1/ via node-b\n", out)
	})
}

func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p int) time.Duration { return s[(len(s)-1)*p/100].Round(10 * time.Microsecond) }
	return "min " + q(0).String() + " p50 " + q(50).String() + " p90 " + q(90).String() + " max " + q(100).String()
}

// BenchmarkFailover reports the failover time distribution (leader marked
// dead -> host's neighbour entry on the new leader's MAC) in milliseconds.
func BenchmarkFailover(b *testing.B) {
	lab := newFailoverLab(b)
	var v4s, v6s []time.Duration
	b.ResetTimer()
	for range b.N {
		v4, v6 := lab.failover(b)
		v4s, v6s = append(v4s, v4), append(v6s, v6)
	}
	b.StopTimer()
	for fam, ds := range map[string][]time.Duration{"v4": v4s, "v6": v6s} {
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, fam+"-p50-ms")
		b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, fam+"-p99-ms")
		b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, fam+"-max-ms")
	}
	b.Logf("%d runs: IPv4 %s; IPv6 %s", b.N, summary(v4s), summary(v6s))
}
