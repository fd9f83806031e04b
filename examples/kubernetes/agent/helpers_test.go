package agent_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
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

	"github.com/lbkit/lbkit/bgp/bgptest"
	"github.com/lbkit/lbkit/examples/kubernetes/agent"
	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/l2/gossip"
	"github.com/lbkit/lbkit/l2/l2test"
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	testenv.Main(m)
}

// wait is the bound of every eventually-true check: generous, so that the
// tests pass on a loaded machine; they measure nothing.
const wait = 90 * time.Second

// eventually polls cond until it returns nil or wait passes.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	testenv.Eventually(t, wait, 100*time.Millisecond, what, cond)
}

// startManager starts a manager on env with setup's controllers and stops
// it in t.Cleanup.
func startManager(t *testing.T, env *testenv.Env, setup func(ctrl.Manager) error) {
	t.Helper()
	skip := true // the controller once per test, several tests per process (-count)
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip}})
	if err != nil {
		t.Fatal(err)
	}
	if err := setup(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// startController runs lbkit's IPAM controller in this process.
func startController(t *testing.T, env *testenv.Env) {
	startManager(t, env, func(mgr ctrl.Manager) error {
		_, err := ipamctl.Setup(mgr, ipamctl.Options{})
		return err
	})
}

// testNode is a node of the test: its Node object, its agent with an L2
// port on the segment, its gossip membership and its own BGP router.
type testNode struct {
	name   string
	mac    net.HardwareAddr
	agent  *agent.Agent
	router *bgptest.Router
}

// createNode creates the Node object name with an InternalIP.
func createNode(t *testing.T, env *testenv.Env, name, ip string) {
	t.Helper()
	ctx := t.Context()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	if err := env.Client.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	if err := env.Client.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// relaxed gossip timing: no false failovers on a loaded machine.
var relaxed = gossip.Timing{ProbeInterval: 300 * time.Millisecond, ProbeTimeout: 250 * time.Millisecond, SuspicionMult: 5}

// startAgent starts node's agent in this process: gossip on loopback
// (joining join), L2 on seg, and a BGP router of its own on ::1.
func startAgent(t *testing.T, env *testenv.Env, seg *l2test.Segment, name string, mac net.HardwareAddr, routerID string, join ...string) (*testNode, *gossip.Cluster) {
	t.Helper()
	ctx := t.Context()
	r, err := bgptest.NewRouter(ctx, bgptest.Config{ASN: 65000, RouterID: netip.MustParseAddr("10.255.0.1"), ListenAddr: netip.MustParseAddr("::1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if err := r.AddPeer(ctx, bgptest.Peer{Address: netip.MustParseAddr("::1"), ASN: 65001, GracefulRestart: true}); err != nil {
		t.Fatal(err)
	}
	c, err := gossip.New(ctx, gossip.Config{Name: name, Bind: netip.MustParseAddrPort("127.0.0.1:0"), Join: join, Timing: relaxed})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{name: name, mac: mac, router: r}
	startManager(t, env, func(mgr ctrl.Manager) error {
		n.agent, err = agent.Setup(mgr, agent.Config{NodeName: name, RouterID: netip.MustParseAddr(routerID),
			SecretNamespace: "default", Election: c,
			Gratuitous: l2.Gratuitous{Count: 1},
			NewL2: func(ctx context.Context, cfg l2.Config) (*l2.Announcer, error) {
				ifc := &net.Interface{Name: "seg0", Index: 1, HardwareAddr: mac}
				return l2.NewWithLinks(ctx, cfg, l2.Link{Interface: ifc, Conn: seg.Attach()})
			}})
		return err
	})
	return n, c
}

// routesOf returns the prefixes r holds.
func routesOf(ctx context.Context, r *bgptest.Router) ([]netip.Prefix, error) {
	rts, err := r.Routes(ctx)
	out := make([]netip.Prefix, len(rts))
	for i, rt := range rts {
		out[i] = rt.Prefix
	}
	return out, err
}

// hasRoute reports an error unless r's table is exactly want (nil: empty).
func hasRoutes(ctx context.Context, r *bgptest.Router, want ...netip.Addr) error {
	got, err := routesOf(ctx, r)
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return errors.New("routes " + fmtPrefixes(got))
	}
	for i, a := range want {
		if got[i] != netip.PrefixFrom(a, a.BitLen()) {
			return errors.New("routes " + fmtPrefixes(got))
		}
	}
	return nil
}

func fmtPrefixes(ps []netip.Prefix) string {
	s := "["
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += p.String()
	}
	return s + "]"
}

// seed creates the reference scenario's pool and policies; BGP policy
// bgp-<node> makes each node peer with its own router.
func seed(t *testing.T, env *testenv.Env, nodes ...*testNode) {
	t.Helper()
	ctx := t.Context()
	pool := &v1alpha1.LoadBalancerIPPool{ObjectMeta: metav1.ObjectMeta{Name: "empire-ip-pool"},
		Spec: v1alpha1.LoadBalancerIPPoolSpec{
			Blocks:          []v1alpha1.IPBlock{{CIDR: "172.18.255.200/29"}, {CIDR: "2001:db8:dead:beef::/64"}},
			ServiceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"org": "empire"}}}}
	objs := []client.Object{pool, &v1alpha1.L2AnnouncementPolicy{ObjectMeta: metav1.ObjectMeta{Name: "empire-l2"},
		Spec: v1alpha1.L2AnnouncementPolicySpec{
			ServiceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"org": "empire"}},
			Interfaces:      []string{"^seg[0-9]+$"}, LoadBalancerIPs: true}}}
	for _, n := range nodes {
		objs = append(objs, bgpPolicy(n))
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}

func bgpPolicy(n *testNode) *v1alpha1.BGPPeeringPolicy {
	port, retry, hold := int32(n.router.Port()), int32(1), int32(9)
	return &v1alpha1.BGPPeeringPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bgp-" + n.name},
		Spec: v1alpha1.BGPPeeringPolicySpec{
			NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/hostname": n.name}},
			VirtualRouters: []v1alpha1.BGPVirtualRouter{{LocalASN: 65001,
				ServiceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"announced": "bgp"}},
				Neighbors: []v1alpha1.BGPNeighbor{{PeerAddress: "::1/128", PeerASN: 65000, PeerPort: &port,
					ConnectRetryTimeSeconds: &retry, HoldTimeSeconds: &hold,
					GracefulRestart: &v1alpha1.BGPGracefulRestart{Enabled: true},
					Families:        []string{v1alpha1.FamilyIPv6Unicast}}}}}}}
}

// deathstar is the reference scenario's service.
func deathstar(ns string) *corev1.Service {
	dual := corev1.IPFamilyPolicyRequireDualStack
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deathstar", Labels: map[string]string{"org": "empire"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilyPolicy: &dual,
			Selector: map[string]string{"app": "deathstar"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80}}}}
}

// endpointSlice is the deathstar's slice with one endpoint on node.
func endpointSlice(ns, node string, ready bool) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deathstar-1",
		Labels: map[string]string{discoveryv1.LabelServiceName: "deathstar"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, NodeName: &node,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}
}

// addrsOf waits for svc's ingress addresses and returns its IPv4 and IPv6
// one.
func addrsOf(t *testing.T, env *testenv.Env, key client.ObjectKey) (v4, v6 netip.Addr) {
	t.Helper()
	eventually(t, "service addresses", func() error {
		var s corev1.Service
		if err := env.Client.Get(t.Context(), key, &s); err != nil {
			return err
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			a := netip.MustParseAddr(in.IP)
			if a.Is4() {
				v4 = a
			} else {
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
