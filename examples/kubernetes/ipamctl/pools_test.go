package ipamctl_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

// updatePool applies change to the pool named name.
func updatePool(t testing.TB, c client.Client, name string, change func(*v1alpha1.LoadBalancerIPPool)) {
	t.Helper()
	p := new(v1alpha1.LoadBalancerIPPool)
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, p); err != nil {
		t.Fatal(err)
	}
	change(p)
	if err := c.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// poolCondition waits until the pool's condition typ has status and a
// message containing msg.
func poolCondition(t testing.TB, c client.Client, name, typ string, status metav1.ConditionStatus, msg string) {
	t.Helper()
	eventually(t, fmt.Sprintf("pool %s %s=%s", name, typ, status), func() error {
		p := new(v1alpha1.LoadBalancerIPPool)
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, p); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(p.Status.Conditions, typ)
		if cond == nil || cond.Status != status || !strings.Contains(cond.Message, msg) ||
			cond.ObservedGeneration != p.Generation {
			return fmt.Errorf("condition %+v", cond)
		}
		return nil
	})
}

// Pool edits through the API: selector change, shrink, conflicting second
// pool, delete. Statuses, conditions and events follow.
func TestPoolEdits(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	startReplica(t, env, replicaOptions{}).waitReady(t)
	ns := env.Namespace(t, "edits", nil)
	v4 := corev1.IPFamilyPolicySingleStack

	create(t, c, pool("edit", map[string]string{"org": "a"}, "10.30.0.0/29"),
		service(ns, "a1", map[string]string{"org": "a"}, v4, 80),
		service(ns, "a2", map[string]string{"org": "a"}, v4, 80),
		service(ns, "b1", map[string]string{"org": "b"}, v4, 80))
	a1 := addrsOf(waitAddrs(t, c, ns, "a1", 1))
	a2 := addrsOf(waitAddrs(t, c, ns, "a2", 1))
	waitCondition(t, c, ns, "b1", metav1.ConditionFalse, ipamctl.ReasonNoPool)

	// Shrink the pool to the lower address and two others: the service
	// holding the higher one moves, the other keeps its address.
	low, high := "a1", "a2"
	lowAddr := a1[0]
	if a2[0].Less(a1[0]) {
		low, high, lowAddr = "a2", "a1", a2[0]
	}
	updatePool(t, c, "edit", func(p *v1alpha1.LoadBalancerIPPool) {
		p.Spec.Blocks = []v1alpha1.IPBlock{{Start: lowAddr.String(), Stop: lowAddr.String()},
			{Start: "10.30.0.5", Stop: "10.30.0.6"}}
	})
	eventually(t, "shrink", func() error {
		l, h := getService(t, c, ns, low), getService(t, c, ns, high)
		if got := addrsOf(l); len(got) != 1 || got[0] != lowAddr {
			return fmt.Errorf("%s has %v, want %v", low, got, lowAddr)
		}
		if got := addrsOf(h); len(got) != 1 || inPrefixes(got, "10.30.0.5/32", "10.30.0.6/32") != nil {
			return fmt.Errorf("%s has %v", high, got)
		}
		return nil
	})
	eventually(t, "moved event", func() error {
		// A service created beside its pool may be refused before the
		// pool is seen; what counts is that the move is the last event.
		got := reasons(t, c, ns)[high]
		if n := len(got); n < 2 || got[n-1] != ipamctl.EventMoved || got[n-2] != ipamctl.EventAssigned {
			return fmt.Errorf("events of %s: %v", high, got)
		}
		return nil
	})

	// Select org=b instead: the a services lose their addresses, b1 gets one.
	updatePool(t, c, "edit", func(p *v1alpha1.LoadBalancerIPPool) {
		p.Spec.ServiceSelector.MatchLabels = map[string]string{"org": "b"}
	})
	waitAddrs(t, c, ns, "b1", 1)
	for _, n := range []string{"a1", "a2"} {
		if svc := waitCondition(t, c, ns, n, metav1.ConditionFalse, ipamctl.ReasonNoPool); len(addrsOf(svc)) != 0 {
			t.Errorf("%s keeps %v", n, addrsOf(svc))
		}
	}

	// A second pool overlapping the first is told so and not used for the
	// overlapping block; it serves the a services from its other block.
	second := pool("edit-2", map[string]string{"org": "a"}, "10.30.0.0/24", "10.31.0.0/30")
	create(t, c, second)
	poolCondition(t, c, "edit-2", v1alpha1.PoolConflict, metav1.ConditionTrue,
		"block 10.30.0.0/24 overlaps block 10.30.0.")
	poolCondition(t, c, "edit", v1alpha1.PoolConflict, metav1.ConditionFalse, "")
	for _, n := range []string{"a1", "a2"} {
		if err := inPrefixes(addrsOf(waitAddrs(t, c, ns, n, 1)), "10.31.0.0/30"); err != nil {
			t.Error(n, err)
		}
	}

	// Delete the first pool: the conflict clears, b1 loses its address.
	if err := c.Delete(context.Background(), pool("edit", nil)); err != nil {
		t.Fatal(err)
	}
	poolCondition(t, c, "edit-2", v1alpha1.PoolConflict, metav1.ConditionFalse, "")
	if svc := waitCondition(t, c, ns, "b1", metav1.ConditionFalse, ipamctl.ReasonNoPool); len(addrsOf(svc)) != 0 {
		t.Errorf("b1 keeps %v", addrsOf(svc))
	}
	eventually(t, "released event", func() error {
		got := reasons(t, c, ns)["b1"]
		if !slices.Contains(got, ipamctl.EventReleased) {
			return fmt.Errorf("events of b1: %v", got)
		}
		return nil
	})
}
