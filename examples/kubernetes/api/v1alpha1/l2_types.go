package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An L2AnnouncementPolicy makes the agents on the nodes it selects answer
// ARP and NDP, on the interfaces it names, for the addresses of the
// services it selects, as Cilium's CiliumL2AnnouncementPolicy does. One
// node answers for each service, elected among the selected nodes (with
// externalTrafficPolicy Local, among those with a ready endpoint).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=l2ap
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L2AnnouncementPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   L2AnnouncementPolicySpec `json:"spec"`
	Status PolicyStatus             `json:"status,omitempty"`
}

// L2AnnouncementPolicySpec says which nodes answer, where, for which
// services and which of their addresses.
type L2AnnouncementPolicySpec struct {
	// ServiceSelector selects the services by their labels (and the keys
	// io.kubernetes.service.namespace and io.kubernetes.service.name).
	// Nil selects every service.
	// +optional
	ServiceSelector *metav1.LabelSelector `json:"serviceSelector,omitempty"`
	// NodeSelector selects the nodes that may answer. Nil selects every
	// node.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`
	// Interfaces are regular expressions matched against whole interface
	// names ("eth[0-9]+"); the node answers on the interfaces that match
	// and are up. Empty means every up, non-loopback Ethernet interface.
	// +optional
	// +listType=atomic
	Interfaces []string `json:"interfaces,omitempty"`
	// LoadBalancerIPs announces the ingress addresses of LoadBalancer
	// Services (status.loadBalancer.ingress).
	// +optional
	LoadBalancerIPs bool `json:"loadBalancerIPs,omitempty"`
	// ExternalIPs announces the addresses in spec.externalIPs.
	// +optional
	ExternalIPs bool `json:"externalIPs,omitempty"`
}

// L2AnnouncementPolicyList is a list of L2AnnouncementPolicies.
//
// +kubebuilder:object:root=true
type L2AnnouncementPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L2AnnouncementPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&L2AnnouncementPolicy{}, &L2AnnouncementPolicyList{})
}
