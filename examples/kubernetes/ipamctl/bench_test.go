package ipamctl_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
)

const benchServices = 1000

// BenchmarkStatus1000 measures the time from creating 1,000 LoadBalancer
// Services (8 clients at once) until all 1,000 have their status written:
// by the controller, and by a bare client whose 8 writers write each
// status as soon as the service is created (the API server's own limit).
// Every iteration runs on a fresh API server.
func BenchmarkStatus1000(b *testing.B) {
	b.Run("controller", func(b *testing.B) {
		benchStatus(b, func(b *testing.B, env *testenv.Env) func(*corev1.Service) {
			startReplica(b, env, replicaOptions{}).waitReady(b)
			return nil
		})
	})
	b.Run("bare-client", func(b *testing.B) {
		benchStatus(b, func(b *testing.B, env *testenv.Env) func(*corev1.Service) {
			created := make(chan *corev1.Service, benchServices)
			for range 8 {
				go func() {
					for svc := range created {
						if err := writeStatus(env.Client, svc); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			b.Cleanup(func() { close(created) })
			return func(svc *corev1.Service) { created <- svc }
		})
	})
}

// benchStatus runs each iteration on a fresh API server prepared by setup,
// which returns what to do with each service created (nil: nothing).
func benchStatus(b *testing.B, setup func(*testing.B, *testenv.Env) func(*corev1.Service)) {
	for b.Loop() {
		b.StopTimer()
		env := testenv.Start(b)
		create(b, env.Client, pool("bench", nil, "10.0.0.0/12", "fd00:be::/64"))
		then := setup(b, env)
		wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
		if err != nil {
			b.Fatal(err)
		}
		ns := env.Namespace(b, "bench", nil)
		w, err := wc.Watch(context.Background(), &corev1.ServiceList{}, client.InNamespace(ns))
		if err != nil {
			b.Fatal(err)
		}
		svcs := make([]*corev1.Service, benchServices)
		for i := range svcs {
			svcs[i] = service(ns, fmt.Sprintf("s%04d", i), nil, corev1.IPFamilyPolicyRequireDualStack, 80)
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < len(svcs); i += 8 {
					if err := env.Client.Create(context.Background(), svcs[i]); err != nil {
						b.Error(err)
					} else if then != nil {
						then(svcs[i])
					}
				}
			})
		}
		waitStatuses(b, w)
		d := time.Since(start)
		b.StopTimer()
		wg.Wait()
		w.Stop()
		b.ReportMetric(float64(d.Milliseconds()), "ms/1000svc")
		b.ReportMetric(float64(d.Microseconds())/benchServices, "µs/svc")
		b.StartTimer()
	}
}

// waitStatuses waits until benchServices services have two addresses.
func waitStatuses(b *testing.B, w watch.Interface) {
	done := make(map[string]bool)
	timeout := time.After(waitTimeout)
	for len(done) < benchServices {
		select {
		case ev := <-w.ResultChan():
			svc, ok := ev.Object.(*corev1.Service)
			if ok && len(svc.Status.LoadBalancer.Ingress) == 2 {
				done[svc.Name] = true
			}
		case <-timeout:
			b.Fatalf("%d of %d services have status", len(done), benchServices)
		}
	}
}

// writeStatus writes a status like the controller's to svc, with
// addresses derived from its cluster IPs.
func writeStatus(c client.Client, svc *corev1.Service) error {
	next := svc.DeepCopy()
	vip := corev1.LoadBalancerIPModeVIP
	for _, ip := range svc.Spec.ClusterIPs {
		next.Status.LoadBalancer.Ingress = append(next.Status.LoadBalancer.Ingress,
			corev1.LoadBalancerIngress{IP: ip, IPMode: &vip})
	}
	next.Status.Conditions = []metav1.Condition{{Type: ipamctl.ConditionSatisfied, Status: metav1.ConditionTrue,
		Reason: ipamctl.ReasonSatisfied, Message: "addresses from pool bench", LastTransitionTime: metav1.Now()}}
	return c.Status().Patch(context.Background(), next,
		client.MergeFromWithOptions(svc, client.MergeFromWithOptimisticLock{}), client.FieldOwner("bare"))
}
