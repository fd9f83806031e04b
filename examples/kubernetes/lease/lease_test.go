package lease_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/lease"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// crashable is a client that fails every call once crashed, as a node
// that lost power would stop renewing.
type crashable struct {
	client.Client
	crashed atomic.Bool
}

var errCrashed = errors.New("crashed")

func (c *crashable) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c *crashable) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Client.List(ctx, list, opts...)
}

const wait = 60 * time.Second

func eventually(t *testing.T, what string, cond func() error) time.Duration {
	t.Helper()
	return testenv.Eventually(t, wait, 20*time.Millisecond, what, cond)
}

func TestElection(t *testing.T) {
	env := testenv.Start(t)
	ns := env.Namespace(t, "lease", nil)
	ctx := t.Context()
	names := []string{"node-a", "node-b", "node-c"}
	clients := map[string]*crashable{}
	els := map[string]*lease.Elector{}
	for _, n := range names {
		clients[n] = &crashable{Client: env.Client}
		e, err := lease.New(ctx, lease.Config{Client: clients[n], Namespace: ns, Node: n,
			Duration: 2 * time.Second, Renew: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		els[n] = e
	}
	agree := func(live ...string) func() error {
		return func() error {
			for _, n := range live {
				if got := els[n].Members(); !slices.Equal(got, live) {
					return fmt.Errorf("%s sees %v, want %v", n, got, live)
				}
			}
			for i := range 20 {
				key := fmt.Sprintf("ns/svc%d", i)
				l0, _ := els[live[0]].Leader(key)
				for _, n := range live[1:] {
					if l, _ := els[n].Leader(key); l != l0 {
						return fmt.Errorf("leader of %s: %s says %s, %s says %s", key, live[0], l0, n, l)
					}
				}
				leads := 0
				for _, n := range live {
					if els[n].Elector().Leads(key) {
						leads++
					}
				}
				if leads != 1 {
					return fmt.Errorf("%s led by %d nodes", key, leads)
				}
			}
			return nil
		}
	}
	eventually(t, "all three agree", agree(names...))

	els["node-a"].SetCandidates("ns/local", "node-c")
	els["node-b"].SetCandidates("ns/local", "node-c")
	els["node-c"].SetCandidates("ns/local", "node-c")
	for _, n := range names {
		if l, ok := els[n].Leader("ns/local"); !ok || l != "node-c" {
			t.Errorf("%s: leader of a service with candidate node-c: %q %v", n, l, ok)
		}
	}

	clients["node-c"].crashed.Store(true)
	took := eventually(t, "node-c's crash is noticed", agree("node-a", "node-b"))
	t.Logf("crash noticed after %v (Duration 2s, Renew 0.5s)", took)
	if l, ok := els["node-a"].Leader("ns/local"); ok {
		t.Errorf("leader of a service whose only candidate crashed: %s", l)
	}

	if err := els["node-b"].Close(); err != nil {
		t.Fatal(err)
	}
	took = eventually(t, "node-b's Close is noticed", func() error {
		if got := els["node-a"].Members(); !slices.Equal(got, []string{"node-a"}) {
			return fmt.Errorf("node-a sees %v", got)
		}
		return nil
	})
	t.Logf("Close noticed after %v (Renew 0.5s)", took)
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []lease.Config{
		{},
		{Namespace: "x", Node: "n"},
	} {
		if _, err := lease.New(t.Context(), cfg); !errors.Is(err, lease.ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
