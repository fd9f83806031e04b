package agent

import (
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
)

func node(name string, labels map[string]string) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func lbService(ns, name string, labels map[string]string, local bool, ips ...string) corev1.Service {
	s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	if local {
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}
	for _, ip := range ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	return s
}

func slice(ns, svc string, ready bool, nodes ...string) discoveryv1.EndpointSlice {
	es := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc + "-x",
		Labels: map[string]string{discoveryv1.LabelServiceName: svc}}}
	for _, n := range nodes {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{NodeName: &n,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	return es
}

func labels(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

// testWorld: nodes a (bgp=yes) and b; a BGP policy for bgp=yes nodes
// announcing announced=bgp; an L2 policy for org=empire on every node.
func testWorld() *world {
	w := &world{
		nodes: []corev1.Node{node("a", map[string]string{"bgp": "yes"}), node("b", nil)},
		bgp: []v1alpha1.BGPPeeringPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec: v1alpha1.BGPPeeringPolicySpec{NodeSelector: labels("bgp", "yes"),
				VirtualRouters: []v1alpha1.BGPVirtualRouter{{LocalASN: 65001, ServiceSelector: labels("announced", "bgp"),
					Neighbors: []v1alpha1.BGPNeighbor{{PeerAddress: "192.0.2.1", PeerASN: 65000}}}}}}},
		l2: []v1alpha1.L2AnnouncementPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "l"},
			Spec: v1alpha1.L2AnnouncementPolicySpec{ServiceSelector: labels("org", "empire"), LoadBalancerIPs: true}}},
		services: []corev1.Service{
			lbService("batuu", "deathstar", map[string]string{"org": "empire", "announced": "bgp"}, false, "172.18.255.200", "2001:db8::1"),
			lbService("batuu", "local", map[string]string{"org": "empire", "announced": "bgp"}, true, "172.18.255.201"),
			lbService("batuu", "pending", map[string]string{"org": "empire", "announced": "bgp"}, false),
			lbService("hoth", "rebels", map[string]string{"org": "alliance"}, false, "172.18.255.202"),
		},
		slices: []discoveryv1.EndpointSlice{slice("batuu", "local", true, "b"), slice("batuu", "local", false, "a")},
	}
	return w
}

func TestComputeNodeA(t *testing.T) {
	w := testWorld()
	w.node = &w.nodes[0]
	probs := problems{}
	d := compute(w, "a", probs)
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	vr := d.vrs["p/65001"]
	if vr == nil || vr.asn != 65001 {
		t.Fatalf("virtual routers: %v", d.vrs)
	}
	// local has its only ready endpoint on b: a does not announce it.
	if got := sortedKeys(vr.services); !slices.Equal(got, []string{"batuu/deathstar"}) {
		t.Errorf("BGP services on a: %v", got)
	}
	if got := vr.services["batuu/deathstar"].Addrs; !slices.Equal(got, []netip.Addr{netip.MustParseAddr("172.18.255.200"), netip.MustParseAddr("2001:db8::1")}) {
		t.Errorf("deathstar's addresses: %v", got)
	}
	if got := sortedKeys(d.l2s["l"].services); !slices.Equal(got, []string{"batuu/deathstar"}) {
		t.Errorf("L2 services on a: %v", got)
	}
	want := map[string][]string{"batuu/deathstar": {"a", "b"}, "batuu/local": {"b"}}
	if len(d.candidates) != len(want) {
		t.Errorf("candidates: %v", d.candidates)
	}
	for k, c := range want {
		if !slices.Equal(d.candidates[k], c) {
			t.Errorf("candidates of %s: %v, want %v", k, d.candidates[k], c)
		}
	}
	if len(d.noEndpoints) != 0 {
		t.Errorf("no endpoints: %v", sortedKeys(d.noEndpoints))
	}
}

func TestComputeNodeB(t *testing.T) {
	w := testWorld()
	w.node = &w.nodes[1]
	d := compute(w, "b", problems{})
	if len(d.vrs) != 0 || d.selectedBGP["p"] {
		t.Errorf("the BGP policy selects b: %v", d.vrs)
	}
	if got := sortedKeys(d.l2s["l"].services); !slices.Equal(got, []string{"batuu/deathstar", "batuu/local"}) {
		t.Errorf("L2 services on b: %v", got)
	}
}

func TestComputeNoReadyEndpoint(t *testing.T) {
	w := testWorld()
	w.node = &w.nodes[0]
	w.slices = w.slices[1:] // only the unready endpoint on a
	d := compute(w, "a", problems{})
	if _, ok := d.noEndpoints["batuu/local"]; !ok {
		t.Errorf("local not reported: %v", sortedKeys(d.noEndpoints))
	}
	if c, ok := d.candidates["batuu/local"]; !ok || len(c) != 0 {
		t.Errorf("local's candidates: %v %v (want an empty set)", c, ok)
	}
}

func TestComputeInvalidPolicies(t *testing.T) {
	w := testWorld()
	w.node = &w.nodes[0]
	w.bgp[0].Spec.VirtualRouters = append(w.bgp[0].Spec.VirtualRouters,
		v1alpha1.BGPVirtualRouter{LocalASN: 65001}, // duplicate ASN
		v1alpha1.BGPVirtualRouter{LocalASN: 65002, ServiceSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}}})
	w.l2[0].Spec.ServiceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"bad key!": "x"}}
	probs := problems{}
	d := compute(w, "a", probs)
	if len(d.vrs) != 1 {
		t.Errorf("virtual routers: %v", sortedKeys(d.vrs))
	}
	if ps := probs[policyKey{"bgp", "p"}]; len(ps) != 2 || ps[0].reason != v1alpha1.ReasonInvalidPolicy {
		t.Errorf("BGP problems: %v", ps)
	}
	if ps := probs[policyKey{"l2", "l"}]; len(ps) != 1 || !d.selectedL2["l"] {
		t.Errorf("L2 problems: %v (selected %v)", ps, d.selectedL2["l"])
	}
}

func TestPeer(t *testing.T) {
	port, ttl, gr := int32(1790), int32(3), int32(30)
	p, err := peer(v1alpha1.BGPNeighbor{PeerAddress: "2001:db8::1/128", PeerASN: 65000, PeerPort: &port,
		EBGPMultihopTTL: &ttl, GracefulRestart: &v1alpha1.BGPGracefulRestart{Enabled: true, RestartTimeSeconds: &gr},
		Families: []string{v1alpha1.FamilyIPv4Unicast, v1alpha1.FamilyIPv6Unicast}, NextHopIPv4: "192.0.2.9",
		AuthSecretRef: ptr("s")}, func(name string) (string, error) { return "pw-" + name, nil })
	if err != nil {
		t.Fatal(err)
	}
	if p.Address != netip.MustParseAddr("2001:db8::1") || p.Port != 1790 || p.EBGPMultihop != 3 ||
		!p.GracefulRestart || p.RestartTime.Seconds() != 30 || len(p.Families) != 2 || p.Password != "pw-s" ||
		p.NextHopIPv4 != netip.MustParseAddr("192.0.2.9") {
		t.Errorf("peer: %+v", p)
	}
	for _, bad := range []v1alpha1.BGPNeighbor{
		{PeerAddress: "death-star", PeerASN: 1},
		{PeerAddress: "192.0.2.0/24", PeerASN: 1},
		{PeerAddress: "192.0.2.1", PeerASN: 0},
		{PeerAddress: "192.0.2.1", PeerASN: 1, Families: []string{"l2vpn"}},
	} {
		if _, err := peer(bad, nil); err == nil {
			t.Errorf("peer(%+v) accepted", bad)
		}
	}
}
