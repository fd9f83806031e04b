package ipamctl_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// waitTimeout bounds every wait for the controller: generous, as the
// machine may be loaded; a correct controller is much faster.
const waitTimeout = 3 * time.Minute

// A replica is a controller running in its own manager.
type replica struct {
	ctl    *ipamctl.Controller
	cancel context.CancelFunc
	done   chan error
}

// replicaOptions configure startReplica.
type replicaOptions struct {
	name           string // field owner; default "lbkit-controller"
	leaderElection bool
}

// startReplica runs a controller against env until stopped or t ends.
func startReplica(t testing.TB, env *testenv.Env, o replicaOptions) *replica {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	if o.name != "" {
		cfg.UserAgent = o.name
	}
	skip := true
	lease, renew, retry := 15*time.Second, 10*time.Second, time.Second
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  env.Scheme,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		LeaderElection:          o.leaderElection,
		LeaderElectionID:        "lbkit-controller",
		LeaderElectionNamespace: "default",
		LeaseDuration:           &lease,
		RenewDeadline:           &renew,
		RetryPeriod:             &retry,
		Controller:              config.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := ipamctl.Setup(mgr, ipamctl.Options{FieldOwner: o.name, PoolStatusDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{ctl: ctl, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- mgr.Start(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop stops the replica and waits until it has stopped.
func (r *replica) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // stop may be called again
}

// waitReady waits until the replica passed its start-up barrier.
func (r *replica) waitReady(t testing.TB) {
	t.Helper()
	select {
	case <-r.ctl.Ready():
	case <-time.After(waitTimeout):
		t.Fatal("controller not ready")
	}
}

// waitSynced waits until the replica reconciled every service that existed
// when it started.
func (r *replica) waitSynced(t testing.TB) {
	t.Helper()
	select {
	case <-r.ctl.Synced():
	case <-time.After(waitTimeout):
		t.Fatal("controller not synced")
	}
}

// eventually polls cond until it returns nil or waitTimeout passes.
func eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, 100*time.Millisecond, what, cond)
}

// service returns a LoadBalancer Service with one TCP port.
func service(ns, name string, labels map[string]string, policy corev1.IPFamilyPolicy, port int32) *corev1.Service {
	no := false
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: map[string]string{}},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			IPFamilyPolicy:                &policy,
			AllocateLoadBalancerNodePorts: &no,
			Ports:                         []corev1.ServicePort{{Name: "p", Port: port, Protocol: corev1.ProtocolTCP}},
		},
	}
	return s
}

// pool returns a pool of the given CIDR blocks selecting matchLabels.
func pool(name string, matchLabels map[string]string, cidrs ...string) *v1alpha1.LoadBalancerIPPool {
	p := &v1alpha1.LoadBalancerIPPool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, c := range cidrs {
		p.Spec.Blocks = append(p.Spec.Blocks, v1alpha1.IPBlock{CIDR: c})
	}
	if matchLabels != nil {
		p.Spec.ServiceSelector = &metav1.LabelSelector{MatchLabels: matchLabels}
	}
	return p
}

func create(t testing.TB, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// addrsOf returns the addresses of svc's status.
func addrsOf(svc *corev1.Service) []netip.Addr {
	var as []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		as = append(as, netip.MustParseAddr(in.IP))
	}
	return as
}

// satisfied returns svc's lbkit.io/IPAMRequestSatisfied condition, or nil.
func satisfied(svc *corev1.Service) *metav1.Condition {
	return meta.FindStatusCondition(svc.Status.Conditions, ipamctl.ConditionSatisfied)
}

// getService fetches ns/name.
func getService(t testing.TB, c client.Client, ns, name string) *corev1.Service {
	t.Helper()
	svc := new(corev1.Service)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
		t.Fatal(err)
	}
	return svc
}

// waitCondition waits until ns/name has the condition with status and
// reason, and returns the service.
func waitCondition(t testing.TB, c client.Client, ns, name string, status metav1.ConditionStatus, reason string) *corev1.Service {
	t.Helper()
	var svc *corev1.Service
	eventually(t, fmt.Sprintf("%s/%s condition %s %s", ns, name, status, reason), func() error {
		svc = getService(t, c, ns, name)
		cond := satisfied(svc)
		if cond == nil || cond.Status != status || cond.Reason != reason || cond.ObservedGeneration != svc.Generation {
			return fmt.Errorf("condition %+v", cond)
		}
		return nil
	})
	return svc
}

// waitAddrs waits until ns/name is satisfied with n addresses.
func waitAddrs(t testing.TB, c client.Client, ns, name string, n int) *corev1.Service {
	t.Helper()
	var svc *corev1.Service
	eventually(t, fmt.Sprintf("%s/%s with %d addresses", ns, name, n), func() error {
		svc = getService(t, c, ns, name)
		if cond := satisfied(svc); cond == nil || cond.Status != metav1.ConditionTrue {
			return fmt.Errorf("condition %+v", cond)
		}
		if len(svc.Status.LoadBalancer.Ingress) != n {
			return fmt.Errorf("ingress %v", svc.Status.LoadBalancer.Ingress)
		}
		return nil
	})
	return svc
}

// inPrefixes reports an error unless every address lies in one of ps.
func inPrefixes(addrs []netip.Addr, ps ...string) error {
	for _, a := range addrs {
		ok := false
		for _, p := range ps {
			ok = ok || netip.MustParsePrefix(p).Contains(a)
		}
		if !ok {
			return fmt.Errorf("%v outside %v", a, ps)
		}
	}
	return nil
}

var errNotYet = errors.New("not yet")
