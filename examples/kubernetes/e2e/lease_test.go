package e2e

import (
	"fmt"
	"syscall"
	"testing"
	"time"

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
	leader := l.leader(t, v4)
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
		if mac := l.arping(v4, 300*time.Millisecond); mac != other.segMAC {
			return fmt.Errorf("answered by %q, want %s", mac, other.segMAC)
		}
		took = time.Since(killed)
		return nil
	})
	t.Logf("failover after SIGKILL of %s's agent (Lease election, defaults 3 s / 1 s): %v (arping every ≤300 ms)", leader.name, took)
}
