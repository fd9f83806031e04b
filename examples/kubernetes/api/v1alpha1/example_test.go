package v1alpha1_test

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
)

// The seed's pool, as Go and as the YAML kubectl applies.
func Example() {
	pool := v1alpha1.LoadBalancerIPPool{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "LoadBalancerIPPool"},
		ObjectMeta: metav1.ObjectMeta{Name: "empire-ip-pool"},
		Spec: v1alpha1.LoadBalancerIPPoolSpec{
			Blocks:          []v1alpha1.IPBlock{{CIDR: "172.18.255.200/29"}, {CIDR: "2001:db8:dead:beef::/64"}},
			ServiceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"org": "empire"}},
		},
	}
	b, err := yaml.Marshal(pool.Spec)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s\n%s", pool.APIVersion, pool.Name, b)
	// Output:
	// lbkit.io/v1alpha1 empire-ip-pool
	// blocks:
	// - cidr: 172.18.255.200/29
	// - cidr: 2001:db8:dead:beef::/64
	// serviceSelector:
	//   matchLabels:
	//     org: empire
}
