package ipamctl_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

// The API server refuses pools the schema can tell are wrong, with a
// message naming the problem.
func TestPoolSchemaRefuses(t *testing.T) {
	env := testenv.Start(t)
	for _, tc := range []struct {
		name  string
		block v1alpha1.IPBlock
		msg   string
	}{
		{"host-bits", v1alpha1.IPBlock{CIDR: "10.0.0.1/24"}, "network prefix without host bits"},
		{"not-cidr", v1alpha1.IPBlock{CIDR: "300.0.0.0/24"}, "network prefix without host bits"},
		{"garbage", v1alpha1.IPBlock{CIDR: "deathstar"}, "network prefix without host bits"},
		{"both", v1alpha1.IPBlock{CIDR: "10.0.0.0/24", Start: "10.0.0.1", Stop: "10.0.0.2"}, "either a cidr or a start and a stop"},
		{"empty", v1alpha1.IPBlock{}, "either a cidr or a start and a stop"},
		{"start-only", v1alpha1.IPBlock{Start: "10.0.0.1"}, "start and stop come together"},
		{"bad-start", v1alpha1.IPBlock{Start: "10.0.0.x", Stop: "10.0.0.9"}, "start must be an IP address"},
		{"mixed", v1alpha1.IPBlock{Start: "10.0.0.1", Stop: "fd00::1"}, "same family"},
	} {
		p := pool("bad-"+tc.name, nil)
		p.Spec.Blocks = []v1alpha1.IPBlock{tc.block}
		err := env.Client.Create(context.Background(), p)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want Invalid with %q", tc.name, err, tc.msg)
		}
	}
	p := pool("bad-allow", nil, "10.0.0.0/24")
	p.Spec.AllowFirstLastIPs = "Maybe"
	if err := env.Client.Create(context.Background(), p); !apierrors.IsInvalid(err) {
		t.Errorf("allowFirstLastIPs Maybe: %v, want Invalid", err)
	}
}

// What the schema lets through but the controller cannot use is reported
// in conditions; nothing crashes and nothing held is lost.
func TestBadInputReported(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	startReplica(t, env, replicaOptions{}).waitReady(t)
	ns := env.Namespace(t, "bad", nil)
	v4 := corev1.IPFamilyPolicySingleStack

	create(t, c, pool("good", nil, "10.50.0.0/24"))
	create(t, c, service(ns, "held", nil, v4, 80))
	held := addrsOf(waitAddrs(t, c, ns, "held", 1))

	// A reversed range is accepted by the API server, refused by the
	// controller, which keeps using the pool's last valid spec.
	updatePool(t, c, "good", func(p *v1alpha1.LoadBalancerIPPool) {
		p.Spec.Blocks = []v1alpha1.IPBlock{{Start: "10.50.0.9", Stop: "10.50.0.5"}}
	})
	poolCondition(t, c, "good", v1alpha1.InvalidSpec, metav1.ConditionTrue, "blocks[0]")
	// Overlapping blocks of one pool, and a selector the schema accepts
	// but Kubernetes' label rules do not.
	reversed := pool("reversed", nil)
	reversed.Spec.Blocks = []v1alpha1.IPBlock{{CIDR: "10.60.0.0/24"}, {Start: "10.60.0.10", Stop: "10.60.0.20"}}
	create(t, c, reversed)
	poolCondition(t, c, "reversed", v1alpha1.InvalidSpec, metav1.ConditionTrue, "overlap")
	badSel := pool("bad-selector", map[string]string{"bad key!": "x"}, "10.70.0.0/24")
	create(t, c, badSel)
	poolCondition(t, c, "bad-selector", v1alpha1.InvalidSpec, metav1.ConditionTrue, "serviceSelector")

	// Garbage annotations: the condition says so and the service keeps
	// what it holds.
	for _, tc := range []struct{ key, value, msg string }{
		{ipamctl.AnnotationIPs, "not-an-ip", "not an IP address"},
		{ipamctl.MetalLBAnnotationIPs, ",,", "no address"},
		{ipamctl.CiliumAnnotationSharingKey, " ", "empty sharing key"},
		{ipamctl.AnnotationPool, "", "empty pool name"},
	} {
		svc := getService(t, c, ns, "held")
		svc.Annotations = map[string]string{tc.key: tc.value}
		if err := c.Update(context.Background(), svc); err != nil {
			t.Fatal(err)
		}
		eventually(t, tc.key, func() error {
			svc := getService(t, c, ns, "held")
			cond := satisfied(svc)
			if cond == nil || cond.Reason != ipamctl.ReasonInvalidRequest || !strings.Contains(cond.Message, tc.msg) {
				return errNotYet
			}
			if got := addrsOf(svc); len(got) != 1 || got[0] != held[0] {
				t.Fatalf("%s: service holds %v, had %v", tc.key, got, held)
			}
			return nil
		})
	}

	// Addresses asked for that the pools cannot give.
	for _, tc := range []struct{ name, ips, reason string }{
		{"outside", "192.0.2.1", ipamctl.ReasonOutOfRange},
		{"two-v4", "10.50.0.7,10.50.0.8", ipamctl.ReasonInvalidRequest},
		{"taken", held[0].String(), ipamctl.ReasonInUse},
	} {
		svc := service(ns, tc.name, nil, v4, 80)
		svc.Annotations[ipamctl.AnnotationIPs] = tc.ips
		create(t, c, svc)
		waitCondition(t, c, ns, tc.name, metav1.ConditionFalse, tc.reason)
	}

	// The controller still serves: the last valid spec of "good" is used.
	create(t, c, service(ns, "fresh", nil, v4, 80))
	if err := inPrefixes(addrsOf(waitAddrs(t, c, ns, "fresh", 1)), "10.50.0.0/24"); err != nil {
		t.Error(err)
	}
}
