package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of a LoadBalancerIPPool.
const (
	// PoolConflict is True when some blocks of the pool are not used because
	// they overlap blocks of another pool that were in use first; the
	// message names each block and the pool and block it overlaps.
	PoolConflict = "lbkit.io/PoolConflict"
	// InvalidSpec is True when the spec passed the API server's validation
	// but cannot be used (a start after its stop, overlapping blocks, an
	// invalid selector). The controller keeps using the last valid spec it
	// saw while it runs.
	InvalidSpec = "lbkit.io/InvalidSpec"
)

// AllowFirstLastIPType says whether the first and last address of a CIDR
// block may be handed out.
//
// +kubebuilder:validation:Enum=Yes;No
type AllowFirstLastIPType string

// Values of AllowFirstLastIPType.
const (
	AllowFirstLastIPNo  AllowFirstLastIPType = "No"
	AllowFirstLastIPYes AllowFirstLastIPType = "Yes"
)

// LoadBalancerIPPool is a set of addresses that LoadBalancer Services get
// their external addresses from, and rules saying which services may use it.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=lbippool;lbippools,categories=lbkit
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Disabled",type=boolean,JSONPath=".spec.disabled"
// +kubebuilder:printcolumn:name="Conflicting",type=string,JSONPath=`.status.conditions[?(@.type=="lbkit.io/PoolConflict")].status`
// +kubebuilder:printcolumn:name="IPv4 Free",type=string,JSONPath=".status.ipv4.free"
// +kubebuilder:printcolumn:name="IPv6 Free",type=string,JSONPath=".status.ipv6.free"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type LoadBalancerIPPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec LoadBalancerIPPoolSpec `json:"spec"`
	// +optional
	Status LoadBalancerIPPoolStatus `json:"status,omitempty"`
}

// LoadBalancerIPPoolSpec describes a pool. Its field names are those of
// Cilium's CiliumLoadBalancerIPPool where they exist.
type LoadBalancerIPPoolSpec struct {
	// Blocks are the pool's addresses: IPv4 and IPv6 CIDR blocks or
	// start–stop ranges. Blocks of one pool must not overlap.
	//
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Blocks []IPBlock `json:"blocks,omitempty"`
	// ServiceSelector selects the services that may get addresses from the
	// pool, matched against the service's labels plus the virtual labels
	// io.kubernetes.service.namespace and io.kubernetes.service.name.
	// Omitted, it selects every service.
	//
	// +optional
	ServiceSelector *metav1.LabelSelector `json:"serviceSelector,omitempty"`
	// NamespaceSelector selects the namespaces whose services may get
	// addresses from the pool. Omitted, it selects every namespace.
	//
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// AllowFirstLastIPs "Yes" lets the first and last address of CIDR blocks
	// be handed out; "No" (the default) keeps them back. Blocks of one or
	// two addresses and start–stop blocks are always used whole.
	//
	// +optional
	// +kubebuilder:default=No
	AllowFirstLastIPs AllowFirstLastIPType `json:"allowFirstLastIPs,omitempty"`
	// Disabled keeps the addresses services already hold but hands out no
	// new ones.
	//
	// +optional
	Disabled bool `json:"disabled,omitempty"`
	// Priority orders the pools tried for a service: higher first; equal
	// priorities by name.
	//
	// +optional
	Priority int32 `json:"priority,omitempty"`
	// ManualOnly pools serve only services that name them (lbkit.io/pool)
	// or ask for addresses inside them.
	//
	// +optional
	ManualOnly bool `json:"manualOnly,omitempty"`
	// AllowCrossNamespaceSharing lets services of different namespaces
	// share an address (same sharing key, no colliding ports).
	//
	// +optional
	AllowCrossNamespaceSharing bool `json:"allowCrossNamespaceSharing,omitempty"`
}

// IPBlock is a CIDR block ("172.18.255.200/29") or an inclusive range from
// start to stop ("10.0.0.5" to "10.0.0.9"), of one family.
//
// +kubebuilder:validation:XValidation:rule="has(self.cidr) != (has(self.start) || has(self.stop))",message="a block has either a cidr or a start and a stop"
// +kubebuilder:validation:XValidation:rule="has(self.start) == has(self.stop)",message="start and stop come together"
// +kubebuilder:validation:XValidation:rule="!has(self.start) || !has(self.stop) || !isIP(self.start) || !isIP(self.stop) || ip(self.start).family() == ip(self.stop).family()",message="start and stop must be of the same family"
type IPBlock struct {
	// CIDR is a network prefix without host bits, e.g. "10.0.0.0/24".
	//
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self) == cidr(self).masked()",message="cidr must be a network prefix without host bits, e.g. 10.0.0.0/24"
	CIDR string `json:"cidr,omitempty"`
	// Start is the first address of a range.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="start must be an IP address"
	Start string `json:"start,omitempty"`
	// Stop is the last address of a range, not before Start.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="stop must be an IP address"
	Stop string `json:"stop,omitempty"`
}

// LoadBalancerIPPoolStatus is the observed state of a pool.
type LoadBalancerIPPoolStatus struct {
	// IPv4 counts the pool's usable IPv4 addresses; absent without IPv4
	// blocks in use.
	//
	// +optional
	IPv4 *AddressCounts `json:"ipv4,omitempty"`
	// IPv6 counts the pool's usable IPv6 addresses; absent without IPv6
	// blocks in use.
	//
	// +optional
	IPv6 *AddressCounts `json:"ipv6,omitempty"`
	// Conditions: lbkit.io/PoolConflict and lbkit.io/InvalidSpec.
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AddressCounts are exact decimal counts of one family's addresses (a /64
// holds 18446744073709551616, more than an int64).
type AddressCounts struct {
	// Total is the number of usable addresses: Used plus Free.
	Total string `json:"total"`
	// Used is the number of addresses held by services (a shared address
	// counts once).
	Used string `json:"used"`
	// Free is the number of addresses left to hand out.
	Free string `json:"free"`
}

// LoadBalancerIPPoolList is a list of LoadBalancerIPPools.
//
// +kubebuilder:object:root=true
type LoadBalancerIPPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LoadBalancerIPPool `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LoadBalancerIPPool{}, &LoadBalancerIPPoolList{})
}
