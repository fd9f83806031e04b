package e2e

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

// TestLeaseFailover runs the agents with the Lease election (its default
// timing) and kills the one answering ARP: the other takes over.
func TestLeaseFailover(t *testing.T) {
	l := newLab(t)
	env := testenv.Start(t, testenv.ListenOn(l.mgmtNet))
	l.writeKubeconfig(env)
	startController(t, env)
	for _, n := range l.nodes {
		createNode(t, env, n.name, n.mgmt)
	}
	for _, f := range []string{"samples/pool.yaml", "samples/l2-announcement.yaml"} {
		apply(t, env, f)
	}
	for _, n := range l.nodes {
		l.startAgent(n, "-election=lease")
	}
	apply(t, env, "samples/service.yaml")
	v4, _ := addrsOf(t, env, client.ObjectKey{Namespace: "batuu", Name: "deathstar"})
	leader, took := l.killLeader(t, v4)
	t.Logf("failover after SIGKILL of %s's agent (Lease election, defaults 3 s / 1 s): %v (arping every ≤300 ms)", leader.name, took)
}
