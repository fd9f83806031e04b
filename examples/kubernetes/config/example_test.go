package config_test

import (
	"fmt"

	"github.com/lbkit/lbkit/examples/kubernetes/config"
)

func ExampleCRDs() {
	crds, err := config.CRDs()
	if err != nil {
		panic(err)
	}
	for _, crd := range crds {
		fmt.Println(crd.Name, crd.Spec.Scope)
	}
	// Output:
	// bgppeeringpolicies.lbkit.io Cluster
	// l2announcementpolicies.lbkit.io Cluster
	// loadbalancerippools.lbkit.io Cluster
}
