package ipamctl_test

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/config"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

// applySample creates the objects of a YAML file of config/samples.
func applySample(t *testing.T, c client.Client, name string, objs ...client.Object) {
	t.Helper()
	b, err := fs.ReadFile(config.Files(), "samples/"+name)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	if len(docs) != len(objs) {
		t.Fatalf("%s: %d documents, want %d", name, len(docs), len(objs))
	}
	for i, d := range docs {
		if err := yaml.UnmarshalStrict([]byte(d), objs[i]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		create(t, c, objs[i])
	}
}

// The seed's scenario: the pool and service of config/samples, served by
// the controller.
func TestReferenceScenario(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	startReplica(t, env, replicaOptions{}).waitReady(t)

	applySample(t, c, "pool.yaml", new(v1alpha1.LoadBalancerIPPool))
	poolCondition(t, c, "empire-ip-pool", v1alpha1.PoolConflict, metav1.ConditionFalse, "")
	applySample(t, c, "service.yaml", new(corev1.Namespace), new(corev1.Service))

	svc := waitAddrs(t, c, "batuu", "deathstar", 2)
	addrs := addrsOf(svc)
	if !addrs[0].Is4() || !addrs[1].Is6() {
		t.Errorf("addresses %v, want IPv4 then IPv6", addrs)
	}
	if err := inPrefixes(addrs, "172.18.255.200/29", "2001:db8:dead:beef::/64"); err != nil {
		t.Error(err)
	}
	if cond := satisfied(svc); cond.Reason != ipamctl.ReasonSatisfied {
		t.Errorf("condition %+v", cond)
	}

	// A service without the label gets no address and says why.
	rebel := service("batuu", "xwing", map[string]string{"org": "rebels"}, corev1.IPFamilyPolicyPreferDualStack, 80)
	create(t, c, rebel)
	rebel = waitCondition(t, c, "batuu", "xwing", metav1.ConditionFalse, ipamctl.ReasonNoPool)
	if len(rebel.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("xwing ingress %v", rebel.Status.LoadBalancer.Ingress)
	}

	// The pool counts exactly: a /29 less its first and last address, a
	// /64 less two.
	eventually(t, "pool status", func() error {
		p := new(v1alpha1.LoadBalancerIPPool)
		if err := c.Get(context.Background(), client.ObjectKey{Name: "empire-ip-pool"}, p); err != nil {
			return err
		}
		want4 := v1alpha1.AddressCounts{Total: "6", Used: "1", Free: "5"}
		want6 := v1alpha1.AddressCounts{Total: "18446744073709551614", Used: "1", Free: "18446744073709551613"}
		if p.Status.IPv4 == nil || *p.Status.IPv4 != want4 || p.Status.IPv6 == nil || *p.Status.IPv6 != want6 {
			return fmt.Errorf("counts %+v %+v", p.Status.IPv4, p.Status.IPv6)
		}
		return nil
	})

	// One event per change: deathstar assigned, xwing refused.
	eventually(t, "events", func() error {
		got := reasons(t, c, "batuu")
		if !slices.Equal(got["deathstar"], []string{ipamctl.EventAssigned}) ||
			!slices.Equal(got["xwing"], []string{ipamctl.EventRefused}) {
			return fmt.Errorf("events %v", got)
		}
		return nil
	})
}

// reasons returns the reasons of the controller's events in ns by object
// name, in the order they happened.
func reasons(t testing.TB, c client.Client, ns string) map[string][]string {
	t.Helper()
	var evs eventsv1.EventList
	if err := c.List(context.Background(), &evs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(evs.Items, func(a, b eventsv1.Event) int {
		return a.EventTime.Compare(b.EventTime.Time)
	})
	got := make(map[string][]string)
	for _, e := range evs.Items {
		if e.ReportingController != ipamctl.Name {
			continue
		}
		n := 1
		if e.Series != nil {
			n = int(e.Series.Count)
		}
		for range n {
			got[e.Regarding.Name] = append(got[e.Regarding.Name], e.Reason)
		}
	}
	return got
}
