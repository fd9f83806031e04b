package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	lbconfig "github.com/lbkit/lbkit/examples/kubernetes/config"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
	"github.com/lbkit/lbkit/internal/bird"
)

// wait bounds every eventually-true check: generous, for loaded machines.
const wait = 90 * time.Second

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	testenv.Eventually(t, wait, 200*time.Millisecond, what, cond)
}

// TestReferenceScenario is the reference scenario end to end.
func TestReferenceScenario(t *testing.T) {
	l := newLab(t)
	env := testenv.Start(t, testenv.ListenOn(l.mgmtNet))
	l.writeKubeconfig(env)
	ctx := t.Context()
	startController(t, env)
	for _, n := range l.nodes {
		createNode(t, env, n.name, n.mgmt)
	}
	for _, f := range []string{"samples/pool.yaml", "samples/bgp-peering.yaml", "samples/l2-announcement.yaml"} {
		apply(t, env, f)
	}
	for _, n := range l.nodes {
		l.startAgent(n)
	}
	apply(t, env, "samples/service.yaml")
	key := client.ObjectKey{Namespace: "batuu", Name: "deathstar"}
	v4, v6 := addrsOf(t, env, key)
	t.Logf("deathstar: %v %v", v4, v6)
	for _, n := range l.nodes { // the service proxy's part: the node accepts the addresses
		for _, a := range []netip.Addr{v4, v6} {
			n.ns.MustRun(t, "ip", "addr", "add", netip.PrefixFrom(a, a.BitLen()).String(), "dev", "lo", "nodad")
		}
	}
	v4URL, v6URL := "http://"+v4.String()+"/v1/", "http://["+v6.String()+"]/v1/"

	t.Run("L2 before the label", func(t *testing.T) {
		eventually(t, "host reaches "+v4URL, func() error { _, err := curl(ctx, l.host, v4URL); return err })
		if out, err := curl(ctx, l.client, v6URL); err == nil {
			t.Errorf("client reaches %s before the label: %s", v6URL, out)
		}
	})

	setLabels(t, env, key, map[string]string{"org": "empire", "announced": "bgp"})
	t.Run("BGP after the label", func(t *testing.T) {
		eventually(t, "client reaches "+v6URL, func() error { _, err := curl(ctx, l.client, v6URL); return err })
		eventually(t, "BIRD has the route from both nodes", func() error { return l.routesFrom(v6, l.nodes...) })
	})

	t.Run("failover", func(t *testing.T) {
		leader, took := l.killLeader(t, v4)
		t.Logf("failover after SIGKILL of %s's agent (gossip election, default timing): %v (arping every ≤300 ms)", leader.name, took)
		eventually(t, "host reaches "+v4URL, func() error { _, err := curl(ctx, l.host, v4URL); return err })
		leader.ns.Stop(leader.agent)
		l.startAgent(leader)
		eventually(t, "BIRD has the route from both nodes", func() error { return l.routesFrom(v6, l.nodes...) })
	})

	t.Run("graceful restart", func(t *testing.T) {
		n := l.nodes[0]
		stop := make(chan struct{})
		lost := make(chan string, 1)
		go func() { // watch BIRD while the agent restarts
			defer close(lost)
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if err := l.routesFrom(v6, n); err != nil {
					lost <- err.Error()
					return
				}
			}
		}()
		n.ns.Stop(n.agent) // SIGTERM: CloseGraceful keeps the route at BIRD
		l.startAgent(n)
		eventually(t, "the restarted agent's session is up", func() error {
			return l.bird.WaitEstablished(ctx, "nodea")
		})
		eventually(t, "the route is there after the restart", func() error { return l.routesFrom(v6, n) })
		close(stop)
		if msg, ok := <-lost; ok {
			t.Errorf("the route flapped during the restart: %s", msg)
		}
	})

	t.Run("externalTrafficPolicy Local", func(t *testing.T) {
		es := endpointSlice("batuu", "node-b")
		if err := env.Client.Create(ctx, es); err != nil {
			t.Fatal(err)
		}
		setLocal(t, env, key, corev1.ServiceExternalTrafficPolicyLocal)
		eventually(t, "only node-b announces", func() error {
			return errors.Join(l.onlyFrom(v6, l.nodes[1]), l.answeredBy(v4, l.nodes[1]))
		})
		es.Endpoints[0].NodeName = &l.nodes[0].name
		if err := env.Client.Update(ctx, es); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the announcing node follows the endpoint to node-a", func() error {
			return errors.Join(l.onlyFrom(v6, l.nodes[0]), l.answeredBy(v4, l.nodes[0]))
		})
		eventually(t, "client reaches "+v6URL, func() error { _, err := curl(ctx, l.client, v6URL); return err })
	})

	t.Run("metrics", func(t *testing.T) {
		eventually(t, "node-a's metrics", func() error {
			m, err := scrape(ctx, l.nodes[0])
			if err != nil {
				return err
			}
			var errs []error
			for _, want := range []string{
				`lbkit_bgp_session_up{peer="2001:db8:4e::1"} 1`,
				`lbkit_bgp_advertised_prefixes{peer="2001:db8:4e::1"} 1`,
				`lbkit_announced{node="node-a",protocol="bgp",service="batuu/deathstar"} 1`,
				`lbkit_announced{node="node-a",protocol="l2",service="batuu/deathstar"} 1`,
			} {
				if !strings.Contains(m, want+"\n") {
					errs = append(errs, fmt.Errorf("no %s", want))
				}
			}
			for _, prefix := range []string{`lbkit_l2_replies_sent_total{interface="seg0",protocol="arp"} `,
				`lbkit_l2_gratuitous_sent_total{interface="seg0",protocol="arp"} `, `lbkit_election_changes_total `} {
				if v := value(m, prefix); v <= 0 {
					errs = append(errs, fmt.Errorf("%s= %v", prefix, v))
				}
			}
			return errors.Join(errs...)
		})
	})

	t.Run("delete", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		if err := env.Client.Delete(ctx, svc); err != nil {
			t.Fatal(err)
		}
		eventually(t, "routes gone, no ARP reply", func() error {
			rts, err := l.bird.Routes()
			if err != nil || len(rts) != 0 {
				return fmt.Errorf("BIRD routes %v %v", rts, err)
			}
			if mac := l.arping(v4, 500*time.Millisecond); mac != "" {
				return fmt.Errorf("%v answered by %s", v4, mac)
			}
			return nil
		})
	})
}

// routesFrom reports an error unless BIRD has a route for addr from each
// of nodes.
func (l *lab) routesFrom(addr netip.Addr, nodes ...*labNode) error {
	rts, err := l.bird.Routes()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if !hasRoute(rts, addr, n) {
			return fmt.Errorf("no route for %v via %s in %v", addr, n.name, rts)
		}
	}
	return nil
}

// onlyFrom reports an error unless BIRD's only route for addr is from n.
func (l *lab) onlyFrom(addr netip.Addr, n *labNode) error {
	rts, err := l.bird.Routes()
	if err != nil {
		return err
	}
	var from []netip.Addr
	for _, r := range rts {
		if r.Prefix.Contains(addr) {
			from = append(from, r.Gateway)
		}
	}
	if len(from) != 1 || from[0] != n.up {
		return fmt.Errorf("routes for %v via %v, want only %v", addr, from, n.up)
	}
	return nil
}

func hasRoute(rts []bird.Route, addr netip.Addr, n *labNode) bool {
	for _, r := range rts {
		if r.Prefix.Contains(addr) && r.Gateway == n.up {
			return true
		}
	}
	return false
}

// answeredBy reports an error unless n answers ARP for addr.
func (l *lab) answeredBy(addr netip.Addr, n *labNode) error {
	if mac := l.arping(addr, time.Second); mac != n.segMAC {
		return fmt.Errorf("%v answered by %q, want %s (%s)", addr, mac, n.segMAC, n.name)
	}
	return nil
}

// leader returns the node answering ARP for addr.
func (l *lab) leader(t *testing.T, addr netip.Addr) *labNode {
	var leader *labNode
	eventually(t, "someone answers ARP", func() error {
		mac := l.arping(addr, time.Second)
		for _, n := range l.nodes {
			if n.segMAC == mac {
				leader = n
				return nil
			}
		}
		return fmt.Errorf("answered by %q", mac)
	})
	return leader
}

// scrape returns n's /metrics.
func scrape(ctx context.Context, n *labNode) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+n.mgmt.String()+":7472/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// value returns the value of the series starting with prefix, or -1.
func value(m, prefix string) float64 {
	for _, line := range strings.Split(m, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}

// startController runs lbkit's IPAM controller in this process.
func startController(t testing.TB, env *testenv.Env) {
	ctrl.SetLogger(logr.Discard())
	skip := true // one controller per test, several tests per process
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ipamctl.Setup(mgr, ipamctl.Options{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
}

// createNode creates the Node name with InternalIP ip.
func createNode(t testing.TB, env *testenv.Env, name string, ip netip.Addr) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	if err := env.Client.Create(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip.String()}}
	if err := env.Client.Status().Update(t.Context(), n); err != nil {
		t.Fatal(err)
	}
}

// apply creates the objects of a manifest of package config.
func apply(t testing.TB, env *testenv.Env, name string) {
	t.Helper()
	b, err := fs.ReadFile(lbconfig.Files(), name)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		var obj client.Object
		switch meta.Kind {
		case "Namespace":
			obj = &corev1.Namespace{}
		case "Service":
			obj = &corev1.Service{}
		case "LoadBalancerIPPool":
			obj = &v1alpha1.LoadBalancerIPPool{}
		case "BGPPeeringPolicy":
			obj = &v1alpha1.BGPPeeringPolicy{}
		case "L2AnnouncementPolicy":
			obj = &v1alpha1.L2AnnouncementPolicy{}
		default:
			t.Fatalf("%s: unexpected kind %q", name, meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func addrsOf(t *testing.T, env *testenv.Env, key client.ObjectKey) (v4, v6 netip.Addr) {
	t.Helper()
	eventually(t, "service addresses", func() error {
		var s corev1.Service
		if err := env.Client.Get(t.Context(), key, &s); err != nil {
			return err
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil && a.Is4() {
				v4 = a
			} else if err == nil {
				v6 = a
			}
		}
		if !v4.IsValid() || !v6.IsValid() {
			return errors.New("no dual-stack ingress yet")
		}
		return nil
	})
	return v4, v6
}

func update(t *testing.T, env *testenv.Env, key client.ObjectKey, change func(*corev1.Service)) {
	t.Helper()
	var s corev1.Service
	if err := env.Client.Get(t.Context(), key, &s); err != nil {
		t.Fatal(err)
	}
	change(&s)
	if err := env.Client.Update(t.Context(), &s); err != nil {
		t.Fatal(err)
	}
}

func setLabels(t *testing.T, env *testenv.Env, key client.ObjectKey, labels map[string]string) {
	update(t, env, key, func(s *corev1.Service) { s.Labels = labels })
}

func setLocal(t *testing.T, env *testenv.Env, key client.ObjectKey, p corev1.ServiceExternalTrafficPolicy) {
	update(t, env, key, func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = p })
}

func endpointSlice(ns, node string) *discoveryv1.EndpointSlice {
	ready := true
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deathstar-1",
		Labels: map[string]string{discoveryv1.LabelServiceName: "deathstar"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, NodeName: &node,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}
}

// killLeader kills the agent of the node that answers ARP for addr and waits
// until the other node answers; it returns the killed node and how long the
// other took to answer after the kill.
func (l *lab) killLeader(t *testing.T, addr netip.Addr) (*labNode, time.Duration) {
	t.Helper()
	leader := l.leader(t, addr)
	other := l.nodes[0]
	if other == leader {
		other = l.nodes[1]
	}
	killed := time.Now()
	if err := syscall.Kill(-leader.agent.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var took time.Duration
	eventually(t, "the other node answers ARP", func() error {
		if mac := l.arping(addr, 300*time.Millisecond); mac != other.segMAC {
			return fmt.Errorf("answered by %q, want %s", mac, other.segMAC)
		}
		took = time.Since(killed)
		return nil
	})
	return leader, took
}
