package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/agent"
	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/metrics"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
	"github.com/lbkit/lbkit/l2/l2test"
)

// TestAgents runs the reference scenario through a real API server: the
// controller and two agents in this process, each agent with its own BGP
// router (bgptest) and a port on one L2 segment (l2test) where a host
// resolves the service's IPv4 address.
func TestAgents(t *testing.T) {
	env := testenv.Start(t)
	ctx := t.Context()
	startController(t, env)
	createNode(t, env, "node-a", "192.0.2.1")
	createNode(t, env, "node-b", "192.0.2.2")
	var seg l2test.Segment
	host, err := l2test.NewHost(&seg, net.HardwareAddr{2, 0, 0, 0, 0, 0x10}, netip.MustParseAddr("172.18.255.10"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	a, ca := startAgent(t, env, &seg, "node-a", net.HardwareAddr{2, 0, 0, 0, 0, 0xa}, "10.255.0.2")
	b, _ := startAgent(t, env, &seg, "node-b", net.HardwareAddr{2, 0, 0, 0, 0, 0xb}, "10.255.0.3", ca.Addr().String())
	seed(t, env, a, b)

	ns := env.Namespace(t, "batuu", nil)
	svc := deathstar(ns)
	if err := env.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(svc)
	v4, v6 := addrsOf(t, env, key)
	t.Logf("deathstar: %v %v", v4, v6)

	resolve := func(want ...net.HardwareAddr) func() error {
		return func() error {
			mac, err := host.Resolve(ctx, v4, 500*time.Millisecond)
			if len(want) == 0 {
				if err == nil {
					return fmt.Errorf("%v is answered by %v", v4, mac)
				}
				if !errors.Is(err, l2test.ErrNoReply) {
					return err
				}
				return nil
			}
			if err != nil {
				return err
			}
			for _, w := range want {
				if bytes.Equal(mac, w) {
					return nil
				}
			}
			return fmt.Errorf("%v is answered by %v, want one of %v", v4, mac, want)
		}
	}

	t.Run("L2", func(t *testing.T) {
		eventually(t, "host resolves the IPv4 address", resolve(a.mac, b.mac))
		for _, n := range []*testNode{a, b} {
			if err := hasRoutes(ctx, n.router); err != nil {
				t.Errorf("%s's router before the label: %v", n.name, err)
			}
		}
	})

	label := func(labels map[string]string) {
		t.Helper()
		var s corev1.Service
		if err := env.Client.Get(ctx, key, &s); err != nil {
			t.Fatal(err)
		}
		s.Labels = labels
		if err := env.Client.Update(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("BGP label", func(t *testing.T) {
		label(map[string]string{"org": "empire", "announced": "bgp"})
		for _, n := range []*testNode{a, b} {
			eventually(t, n.name+"'s router learns the IPv6 route", func() error { return hasRoutes(ctx, n.router, v6) })
		}
	})

	setTrafficPolicy := func(p corev1.ServiceExternalTrafficPolicy) {
		t.Helper()
		var s corev1.Service
		if err := env.Client.Get(ctx, key, &s); err != nil {
			t.Fatal(err)
		}
		s.Spec.ExternalTrafficPolicy = p
		if err := env.Client.Update(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("externalTrafficPolicy Local", func(t *testing.T) {
		es := endpointSlice(ns, "node-b", true)
		if err := env.Client.Create(ctx, es); err != nil {
			t.Fatal(err)
		}
		setTrafficPolicy(corev1.ServiceExternalTrafficPolicyLocal)
		eventually(t, "only node-b announces", func() error {
			return errors.Join(hasRoutes(ctx, a.router), hasRoutes(ctx, b.router, v6), resolve(b.mac)())
		})
		es.Endpoints[0].NodeName = &a.name
		if err := env.Client.Update(ctx, es); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the announcement follows the endpoint to node-a", func() error {
			return errors.Join(hasRoutes(ctx, a.router, v6), hasRoutes(ctx, b.router), resolve(a.mac)())
		})
		ready := false
		es.Endpoints[0].Conditions.Ready = &ready
		if err := env.Client.Update(ctx, es); err != nil {
			t.Fatal(err)
		}
		eventually(t, "nobody announces a service without a ready endpoint", func() error {
			return errors.Join(hasRoutes(ctx, a.router), hasRoutes(ctx, b.router), resolve()())
		})
		eventually(t, "event "+agent.EventNoReadyEndpoints, func() error {
			var evs eventsv1.EventList
			if err := env.Client.List(ctx, &evs, client.InNamespace(ns)); err != nil {
				return err
			}
			for _, e := range evs.Items {
				if e.Reason == agent.EventNoReadyEndpoints && e.Regarding.Name == "deathstar" {
					return nil
				}
			}
			return fmt.Errorf("no such event among %d", len(evs.Items))
		})
		setTrafficPolicy(corev1.ServiceExternalTrafficPolicyCluster)
		eventually(t, "both nodes announce again", func() error {
			return errors.Join(hasRoutes(ctx, a.router, v6), hasRoutes(ctx, b.router, v6), resolve(a.mac, b.mac)())
		})
	})

	t.Run("policy changes", func(t *testing.T) {
		var pb v1alpha1.BGPPeeringPolicy
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "bgp-node-b"}, &pb); err != nil {
			t.Fatal(err)
		}
		before := established(t, b)
		pb.Spec.VirtualRouters[0].Neighbors = append(pb.Spec.VirtualRouters[0].Neighbors,
			v1alpha1.BGPNeighbor{PeerAddress: "death-star", PeerASN: 65000})
		if err := env.Client.Update(ctx, &pb); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node-b reports the bad neighbor", func() error {
			return applied(ctx, env, "bgp-node-b", "node-b", metav1.ConditionFalse, v1alpha1.ReasonInvalidPolicy, "death-star")
		})
		if err := applied(ctx, env, "bgp-node-a", "node-a", metav1.ConditionTrue, v1alpha1.ReasonApplied, ""); err != nil {
			t.Error(err)
		}
		if err := hasRoutes(ctx, b.router, v6); err != nil {
			t.Errorf("node-b's route after the bad neighbor: %v", err)
		}
		if after := established(t, b); after != before {
			t.Errorf("node-b's session: %v before, %v after the bad neighbor", before, after)
		}

		var pa v1alpha1.BGPPeeringPolicy
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "bgp-node-a"}, &pa); err != nil {
			t.Fatal(err)
		}
		pa.Spec.VirtualRouters[0].ServiceSelector.MatchLabels["announced"] = "nothing"
		if err := env.Client.Update(ctx, &pa); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node-a withdraws", func() error { return hasRoutes(ctx, a.router) })
		if err := hasRoutes(ctx, b.router, v6); err != nil {
			t.Errorf("node-b's route after node-a's policy change: %v", err)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(metrics.NewAgentCollector(a.agent), metrics.NewControllerCollector(env.Client, ""))
		rb := prometheus.NewPedanticRegistry()
		rb.MustRegister(metrics.NewAgentCollector(b.agent))
		eventually(t, "metrics", func() error {
			ma, err := gather(reg)
			if err != nil {
				return err
			}
			mb, err := gather(rb)
			if err != nil {
				return err
			}
			leader := ""
			for _, n := range []string{"node-a", "node-b"} {
				if ma[`lbkit_announced{node="`+n+`",protocol="l2",service="`+key.String()+`"}`]+
					mb[`lbkit_announced{node="`+n+`",protocol="l2",service="`+key.String()+`"}`] == 1 {
					leader = n
				}
			}
			var errs []error
			check := func(m map[string]float64, series string, ok func(float64) bool) {
				if v, found := m[series]; !found || !ok(v) {
					errs = append(errs, fmt.Errorf("%s = %v (present %v)", series, v, found))
				}
			}
			one := func(v float64) bool { return v == 1 }
			pos := func(v float64) bool { return v > 0 }
			check(mb, `lbkit_announced{node="node-b",protocol="bgp",service="`+key.String()+`"}`, one)
			check(mb, `lbkit_bgp_session_up{peer="::1"}`, one)
			check(mb, `lbkit_bgp_advertised_prefixes{peer="::1"}`, pos)
			check(ma, `lbkit_bgp_advertised_prefixes{peer="::1"}`, func(v float64) bool { return v == 0 })
			check(ma, `lbkit_pool_addresses{family="ipv4",pool="empire-ip-pool",state="used"}`, one)
			check(ma, `lbkit_pool_addresses{family="ipv4",pool="empire-ip-pool",state="free"}`, func(v float64) bool { return v == 5 }) // .200 and .207 reserved
			check(ma, `lbkit_services_unsatisfied`, func(v float64) bool { return v == 0 })
			check(ma, `lbkit_election_changes_total`, pos)
			if _, ok := ma[`lbkit_announced{node="node-a",protocol="bgp",service="`+key.String()+`"}`]; ok {
				errs = append(errs, errors.New("node-a reports a BGP announcement"))
			}
			if leader == "" {
				errs = append(errs, errors.New("no single L2 announcer in lbkit_announced"))
			} else {
				m := map[string]map[string]float64{"node-a": ma, "node-b": mb}[leader]
				check(m, `lbkit_l2_replies_sent_total{interface="seg0",protocol="arp"}`, pos)
				check(m, `lbkit_l2_requests_received_total{interface="seg0",protocol="arp"}`, pos)
				check(m, `lbkit_l2_gratuitous_sent_total{interface="seg0",protocol="arp"}`, pos)
			}
			return errors.Join(errs...)
		})
	})

	t.Run("delete", func(t *testing.T) {
		if err := env.Client.Delete(ctx, svc); err != nil {
			t.Fatal(err)
		}
		eventually(t, "everything withdrawn", func() error {
			return errors.Join(hasRoutes(ctx, a.router), hasRoutes(ctx, b.router), resolve()())
		})
	})
}

// established returns how the router sees node's session.
func established(t *testing.T, n *testNode) string {
	t.Helper()
	ps, err := n.router.Peers(t.Context())
	if err != nil || len(ps) != 1 {
		t.Fatalf("router peers: %v %v", ps, err)
	}
	return fmt.Sprint(ps[0].State, ps[0].Established())
}

// applied checks node's Applied condition in the BGP policy name.
func applied(ctx context.Context, env *testenv.Env, name, node string, status metav1.ConditionStatus, reason, inMessage string) error {
	var p v1alpha1.BGPPeeringPolicy
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &p); err != nil {
		return err
	}
	for _, n := range p.Status.Nodes {
		if n.Node != node {
			continue
		}
		c := meta.FindStatusCondition(n.Conditions, v1alpha1.ConditionApplied)
		if c == nil || c.Status != status || c.Reason != reason || !strings.Contains(c.Message, inMessage) {
			return fmt.Errorf("%s on %s: condition %+v", name, node, c)
		}
		return nil
	}
	return fmt.Errorf("%s: no status for %s: %+v", name, node, p.Status)
}

// gather returns every series of reg as "name{labels}" → value.
func gather(reg *prometheus.Registry) (map[string]float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			out[seriesName(mf.GetName(), m)] = value(m)
		}
	}
	return out, nil
}

func seriesName(name string, m *dto.Metric) string {
	if len(m.Label) == 0 {
		return name
	}
	parts := make([]string, len(m.Label))
	for i, l := range m.Label {
		parts[i] = fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}
