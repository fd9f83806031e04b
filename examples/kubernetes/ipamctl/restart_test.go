package ipamctl_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

// restartServices returns n services in the namespaces nss: dual-stack
// (required and preferred) and single-stack, pairs sharing an address,
// services asking for specific addresses, and one in ten from pool b.
func restartServices(nss []string, n int) []*corev1.Service {
	policies := []corev1.IPFamilyPolicy{corev1.IPFamilyPolicyRequireDualStack,
		corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicySingleStack}
	svcs := make([]*corev1.Service, n)
	for i := range n {
		labels := map[string]string{"pool": "a"}
		if i%10 == 7 {
			labels["pool"] = "b"
		}
		port := int32(80)
		policy := policies[i%len(policies)]
		ns := nss[(i/2)%len(nss)] // sharing pairs in one namespace
		svc := service(ns, fmt.Sprintf("svc-%04d", i), labels, policy, port)
		switch i % 10 {
		case 0, 1: // pairs 0–1, 10–11, …: same key, ports 80 and 81
			svc.Annotations[ipamctl.AnnotationSharingKey] = fmt.Sprintf("pair-%d", i/10)
			svc.Spec.Ports[0].Port = port + int32(i%2)
			svc.Spec.IPFamilyPolicy = ptr(corev1.IPFamilyPolicyRequireDualStack)
		case 5: // a specific address, in the upper quarter of pool a
			svc.Annotations[ipamctl.AnnotationIPs] = fmt.Sprintf("10.10.3.%d", i/10%250+1)
			svc.Spec.IPFamilyPolicy = ptr(corev1.IPFamilyPolicySingleStack)
		}
		svcs[i] = svc
	}
	return svcs
}

func ptr[T any](v T) *T { return &v }

// createAll creates objs with a few clients at once.
func createAll(t testing.TB, c client.Client, svcs []*corev1.Service) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(svcs))
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(svcs); i += workers {
				if err := c.Create(context.Background(), svcs[i]); err != nil {
					errs <- fmt.Errorf("create %s: %w", svcs[i].Name, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// snapshot is what the API server holds of each LoadBalancer Service: its
// resourceVersion and addresses, by namespace/name.
type snapshot map[string]string

// take lists the services of nss and returns their snapshot and the number
// whose condition is True.
func take(t testing.TB, c client.Client, nss []string) (snapshot, int) {
	t.Helper()
	s, ok := make(snapshot), 0
	for _, ns := range nss {
		var list corev1.ServiceList
		if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			svc := &list.Items[i]
			s[ns+"/"+svc.Name] = fmt.Sprintf("%s %v", svc.ResourceVersion, addrsOf(svc))
			if cond := satisfied(svc); cond != nil && cond.Status == metav1.ConditionTrue {
				ok++
			}
		}
	}
	return s, ok
}

// diff describes the first few differences between s and o.
func (s snapshot) diff(o snapshot) string {
	var d []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if s[k] != o[k] && len(d) < 5 {
			d = append(d, fmt.Sprintf("%s: %q → %q", k, s[k], o[k]))
		}
	}
	return fmt.Sprint(len(d), " differences, first: ", d)
}

// A restart with nothing changed writes nothing; a restart after a pool
// was disabled keeps every address but refuses new requests there.
func TestRestartMovesNothing(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	const n = 1000
	nss := []string{
		env.Namespace(t, "r1", nil), env.Namespace(t, "r2", nil),
		env.Namespace(t, "r3", nil), env.Namespace(t, "r4", nil),
	}
	create(t, c,
		pool("restart-a", map[string]string{"pool": "a"}, "10.10.0.0/22", "fd00:a::/64"),
		pool("restart-b", map[string]string{"pool": "b"}, "10.20.0.0/24", "fd00:b::/64"))
	first := startReplica(t, env, replicaOptions{})
	createAll(t, c, restartServices(nss, n))
	var before snapshot
	eventually(t, "all services satisfied", func() error {
		var ok int
		before, ok = take(t, c, nss)
		if ok != n {
			return fmt.Errorf("%d of %d satisfied", ok, n)
		}
		return nil
	})
	eventually(t, "one event per service", func() error {
		if got := countEvents(t, c, nss); got != n {
			return fmt.Errorf("%d events", got)
		}
		return nil
	})
	first.stop()

	second := startReplica(t, env, replicaOptions{})
	second.waitSynced(t)
	after, _ := take(t, c, nss)
	if !maps.Equal(before, after) {
		t.Fatalf("restart changed services: %s", before.diff(after))
	}
	if got := countEvents(t, c, nss); got != n {
		t.Errorf("%d events after the restart, want %d", got, n)
	}
	second.stop()

	b := new(v1alpha1.LoadBalancerIPPool)
	if err := c.Get(context.Background(), client.ObjectKey{Name: "restart-b"}, b); err != nil {
		t.Fatal(err)
	}
	b.Spec.Disabled = true
	if err := c.Update(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	startReplica(t, env, replicaOptions{}).waitSynced(t)
	after, _ = take(t, c, nss)
	if !maps.Equal(before, after) {
		t.Fatalf("restart with a disabled pool changed services: %s", before.diff(after))
	}
	late := service(nss[0], "late", map[string]string{"pool": "b"}, corev1.IPFamilyPolicySingleStack, 80)
	late.Annotations[ipamctl.AnnotationIPs] = "10.20.0.200"
	create(t, c, late)
	waitCondition(t, c, nss[0], "late", metav1.ConditionFalse, ipamctl.ReasonDisabled)
}

// countEvents counts the controller's events in nss.
func countEvents(t testing.TB, c client.Client, nss []string) int {
	n := 0
	for _, ns := range nss {
		for _, r := range reasons(t, c, ns) {
			n += len(r)
		}
	}
	return n
}
