// Package v1alpha1 holds lbkit's Kubernetes API types, group lbkit.io,
// version v1alpha1: the cluster-scoped LoadBalancerIPPool, whose spec uses
// the field names of Cilium's CiliumLoadBalancerIPPool (blocks,
// serviceSelector, allowFirstLastIPs, disabled) plus lbkit's
// namespaceSelector, priority, manualOnly and allowCrossNamespaceSharing.
//
// The CRD manifests in config/crd and zz_generated.deepcopy.go are generated
// from the types' markers by controller-gen; run `go generate ./config` in the
// module after changing a type (a test fails when they are stale).
//
// The API server refuses what the schema can say is wrong (a block that is
// neither a CIDR nor a start–stop pair, addresses of mixed families, an
// unknown allowFirstLastIPs value); what it cannot say (a start after its
// stop, blocks overlapping each other, an invalid selector) the controller
// reports in the pool's lbkit.io/InvalidSpec condition.
//
// +kubebuilder:object:generate=true
// +groupName=lbkit.io
package v1alpha1
