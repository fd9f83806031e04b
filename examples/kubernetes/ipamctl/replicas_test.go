package ipamctl_test

import (
	"fmt"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

// statusWriters returns the field managers that wrote svc's status.
func statusWriters(svc *corev1.Service) []string {
	var ms []string
	for _, f := range svc.ManagedFields {
		if f.Subresource == "status" {
			ms = append(ms, f.Manager)
		}
	}
	return ms
}

// Two replicas: only the leader writes; when it dies without handing over,
// the other takes over once the Lease expires, and nothing moves.
func TestTwoReplicas(t *testing.T) {
	env := testenv.Start(t)
	c := env.Client
	ns := env.Namespace(t, "replicas", nil)
	create(t, c, pool("replicas", nil, "10.40.0.0/24", "fd00:40::/64"))

	a := startReplica(t, env, replicaOptions{name: "replica-a", leaderElection: true})
	a.waitReady(t)
	b := startReplica(t, env, replicaOptions{name: "replica-b", leaderElection: true})

	const n = 20
	for i := range n {
		create(t, c, service(ns, fmt.Sprintf("s%02d", i), nil, corev1.IPFamilyPolicyRequireDualStack, 80))
	}
	before := make(map[string]string)
	for i := range n {
		svc := waitAddrs(t, c, ns, fmt.Sprintf("s%02d", i), 2)
		if w := statusWriters(svc); len(w) != 1 || w[0] != "replica-a" {
			t.Errorf("%s status written by %v, want replica-a only", svc.Name, w)
		}
		before[svc.Name] = fmt.Sprint(svc.ResourceVersion, addrsOf(svc))
	}
	select {
	case <-b.ctl.Ready():
		t.Fatal("replica-b started serving while replica-a leads")
	default:
	}

	a.cancel() // dies holding the Lease: replica-b waits for it to expire
	<-a.done
	a.done <- nil
	b.waitSynced(t)
	create(t, c, service(ns, "late", nil, corev1.IPFamilyPolicyRequireDualStack, 80))
	svc := waitAddrs(t, c, ns, "late", 2)
	if w := statusWriters(svc); len(w) != 1 || w[0] != "replica-b" {
		t.Errorf("late status written by %v, want replica-b", w)
	}
	after := make(map[string]string)
	for i := range n {
		svc := getService(t, c, ns, fmt.Sprintf("s%02d", i))
		after[svc.Name] = fmt.Sprint(svc.ResourceVersion, addrsOf(svc))
	}
	if !maps.Equal(before, after) {
		t.Errorf("take-over changed services:\n%v\n%v", before, after)
	}
}
