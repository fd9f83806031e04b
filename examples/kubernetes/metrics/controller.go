package metrics

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
)

var (
	poolAddresses = prometheus.NewDesc("lbkit_pool_addresses",
		"Addresses of the pool, used or free, per family (as in the pool's status).", []string{"pool", "family", "state"}, nil)
	unsatisfied = prometheus.NewDesc("lbkit_services_unsatisfied",
		"LoadBalancer Services the controller serves whose address request is not satisfied.", nil, nil)
)

type controllerCollector struct {
	c     client.Reader
	class string
}

// NewControllerCollector returns a collector of the controller metrics,
// read from c (the manager's cached client): the pools' counts from their
// status and the services of class (and without a class) whose condition
// lbkit.io/IPAMRequestSatisfied is not True.
func NewControllerCollector(c client.Reader, class string) prometheus.Collector {
	return controllerCollector{c, class}
}

func (controllerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolAddresses
	ch <- unsatisfied
}

func (c controllerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var pools v1alpha1.LoadBalancerIPPoolList
	if err := c.c.List(ctx, &pools); err == nil {
		for _, p := range pools.Items {
			for _, f := range []struct {
				name string
				n    *v1alpha1.AddressCounts
			}{{"ipv4", p.Status.IPv4}, {"ipv6", p.Status.IPv6}} {
				if f.n == nil {
					continue
				}
				for _, s := range []struct{ state, v string }{{"used", f.n.Used}, {"free", f.n.Free}} {
					if v, err := strconv.ParseFloat(s.v, 64); err == nil {
						ch <- prometheus.MustNewConstMetric(poolAddresses, prometheus.GaugeValue, v, p.Name, f.name, s.state)
					}
				}
			}
		}
	}
	var svcs corev1.ServiceList
	if err := c.c.List(ctx, &svcs); err != nil {
		return
	}
	n := 0
	for _, s := range svcs.Items {
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		if cl := s.Spec.LoadBalancerClass; cl != nil && *cl != c.class {
			continue
		}
		if !meta.IsStatusConditionPresentAndEqual(s.Status.Conditions, ipamctl.ConditionSatisfied, metav1.ConditionTrue) {
			n++
		}
	}
	ch <- prometheus.MustNewConstMetric(unsatisfied, prometheus.GaugeValue, float64(n))
}
