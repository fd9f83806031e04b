package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

// Addresses of the scale benchmark's pool: the IPv4 block is on the
// host's segment through a route on br0.
const (
	scaleV4   = "172.18.128.0/18"
	scaleV6   = "2001:db8:dead:beef::/64"
	scaleNS   = "scale"
	scale10kE = "LBKIT_BENCH_10K" // set to 1 to go on to 10,000 services
)

// BenchmarkAgentScale announces 1,000 dual-stack LoadBalancer services,
// selected by the BGP and the L2 policy, from the two agents. It reports
// the time from the controller's last status write (as seen by polling
// the API server every 500 ms) until BIRD holds a route from both nodes for
// every IPv6 address, and until a node answers ARP for every IPv4 address
// (arping from the host, 16 at a time), and the agents' RSS. With
// LBKIT_BENCH_10K=1 it goes on to 10,000 services and reports the RSS
// and times again.
func BenchmarkAgentScale(b *testing.B) {
	l := newLab(b)
	l.host.MustRun(b, "ip", "route", "add", scaleV4, "dev", "br0")
	env := testenv.Start(b, testenv.ListenOn(l.mgmtNet))
	l.writeKubeconfig(env)
	startController(b, env)
	for _, n := range l.nodes {
		createNode(b, env, n.name, n.mgmt)
	}
	for _, f := range []string{"samples/bgp-peering.yaml", "samples/l2-announcement.yaml"} {
		apply(b, env, f)
	}
	ctx := b.Context()
	pool := &v1alpha1.LoadBalancerIPPool{ObjectMeta: metav1.ObjectMeta{Name: "scale"},
		Spec: v1alpha1.LoadBalancerIPPoolSpec{Blocks: []v1alpha1.IPBlock{{CIDR: scaleV4}, {CIDR: scaleV6}}}}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: scaleNS}}
	for _, o := range []client.Object{pool, ns} {
		if err := env.Client.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range l.nodes {
		l.startAgent(n)
	}
	steps := []int{1000}
	if os.Getenv(scale10kE) == "1" {
		steps = append(steps, 10000)
	}
	b.ResetTimer()
	for range b.N {
		from := 0
		for _, to := range steps {
			l.scaleStep(env, from, to)
			from = to
		}
	}
}

// scaleStep creates services from..to-1 and reports the times and RSS at
// to services.
func (l *lab) scaleStep(env *testenv.Env, from, to int) {
	b := l.t.(*testing.B)
	ctx := b.Context()
	createServices(b, env, from, to)
	v4s, last := waitStatuses(b, env, to)
	var wg sync.WaitGroup
	var bgp, arp, sweep time.Duration
	wg.Go(func() { bgp = l.waitRoutes(b, 2*to).Sub(last) })
	wg.Go(func() { var done time.Time; done, sweep = l.waitARP(ctx, b, v4s); arp = done.Sub(last) })
	wg.Wait()
	k := strconv.Itoa(to)
	b.ReportMetric(bgp.Seconds(), "s-bird-"+k)
	b.ReportMetric(arp.Seconds(), "s-arp-"+k)
	b.ReportMetric(sweep.Seconds(), "s-arpsweep-"+k)
	var rss []string
	for _, n := range l.nodes {
		mb := float64(rssKB(b, n.agent.Process.Pid)) / 1024
		b.ReportMetric(mb, "MB-rss-"+n.name+"-"+k)
		rss = append(rss, fmt.Sprintf("%s %.1f MB", n.name, mb))
	}
	b.Logf("%d services: BIRD +%v, ARP +%v (last sweep %v) after the last status; RSS %v; load %s",
		to, bgp, arp, sweep, rss, loadavg())
}

// createServices creates services from..to-1, 8 at a time.
func createServices(b *testing.B, env *testenv.Env, from, to int) {
	idx := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for i := range idx {
				if err := env.Client.Create(b.Context(), scaleService(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := from; i < to; i++ {
		select {
		case idx <- i:
		case err := <-errs:
			b.Fatal(err)
		}
	}
	close(idx)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

func scaleService(i int) *corev1.Service {
	dual, nodePorts := corev1.IPFamilyPolicyPreferDualStack, false // 10,000 exceed the NodePort range
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: scaleNS, Name: fmt.Sprintf("svc-%05d", i),
			Labels: map[string]string{"org": "empire", "announced": "bgp"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilyPolicy: &dual,
			AllocateLoadBalancerNodePorts: &nodePorts,
			Selector:                      map[string]string{"app": "none"},
			Ports:                         []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}}},
	}
}

// waitStatuses polls until n services have an IPv4 and an IPv6 address;
// it returns the IPv4 addresses and when it saw the last one.
func waitStatuses(b *testing.B, env *testenv.Env, n int) ([]netip.Addr, time.Time) {
	deadline := time.Now().Add(time.Duration(n) * 100 * time.Millisecond)
	for {
		var list corev1.ServiceList
		if err := env.Client.List(b.Context(), &list, client.InNamespace(scaleNS)); err != nil {
			b.Fatal(err)
		}
		seen := time.Now()
		var v4s []netip.Addr
		for _, s := range list.Items {
			var v4, v6 netip.Addr
			for _, in := range s.Status.LoadBalancer.Ingress {
				if a, err := netip.ParseAddr(in.IP); err == nil && a.Is4() {
					v4 = a
				} else if err == nil {
					v6 = a
				}
			}
			if v4.IsValid() && v6.IsValid() {
				v4s = append(v4s, v4)
			}
		}
		if len(v4s) == n {
			return v4s, seen
		}
		if seen.After(deadline) {
			b.Fatalf("%d of %d services have two addresses", len(v4s), n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitRoutes polls BIRD until it holds n routes from the pool, and returns
// when it saw them.
func (l *lab) waitRoutes(b *testing.B, n int) time.Time {
	pool := netip.MustParsePrefix(scaleV6)
	deadline := time.Now().Add(10 * time.Minute)
	got := 0
	for time.Now().Before(deadline) {
		rts, err := l.bird.Routes()
		if err == nil {
			got = 0
			for _, r := range rts {
				if pool.Contains(r.Prefix.Addr()) {
					got++
				}
			}
			if got == n {
				return time.Now()
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Errorf("BIRD holds %d routes from the pool, want %d", got, n)
	return time.Now()
}

// waitARP arpings every address from the host, 16 at a time, sweeping the
// unanswered ones again until a node answers for each. It returns when the
// last one answered and how long the last sweep took.
func (l *lab) waitARP(ctx context.Context, b *testing.B, addrs []netip.Addr) (time.Time, time.Duration) {
	macs := map[string]bool{}
	for _, n := range l.nodes {
		macs[n.segMAC] = true
	}
	deadline := time.Now().Add(10 * time.Minute)
	for left := addrs; ; {
		start := time.Now()
		var mu sync.Mutex
		var missing []netip.Addr
		idx := make(chan netip.Addr)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for a := range idx {
					if !macs[l.arping(a, time.Second)] {
						mu.Lock()
						missing = append(missing, a)
						mu.Unlock()
					}
				}
			})
		}
		for _, a := range left {
			idx <- a
		}
		close(idx)
		wg.Wait()
		if len(missing) == 0 {
			return time.Now(), time.Since(start)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			b.Errorf("%d of %d addresses unanswered, e.g. %v", len(missing), len(addrs), missing[0])
			return time.Now(), time.Since(start)
		}
		left = missing
	}
}

// rssKB returns VmRSS of process pid in kB.
func rssKB(b *testing.B, pid int) int {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range bytes.Split(st, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}
