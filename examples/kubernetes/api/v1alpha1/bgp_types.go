package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A BGPPeeringPolicy makes the agents on the nodes it selects peer with
// routers over BGP and announce the addresses of the LoadBalancer Services
// each virtual router selects, as Cilium's CiliumBGPPeeringPolicy does
// (without exportPodCIDR).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=bgpp
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPPeeringPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BGPPeeringPolicySpec `json:"spec"`
	Status PolicyStatus         `json:"status,omitempty"`
}

// BGPPeeringPolicySpec says which nodes peer with which routers and which
// services they announce.
type BGPPeeringPolicySpec struct {
	// NodeSelector selects the nodes the policy applies to, by their
	// labels. Nil selects every node.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// VirtualRouters are the BGP speakers each selected node runs, one per
	// local ASN.
	// +kubebuilder:validation:MinItems=1
	// +listType=atomic
	VirtualRouters []BGPVirtualRouter `json:"virtualRouters"`
}

// A BGPVirtualRouter is one BGP speaker on each selected node: its ASN, the
// services it announces and its neighbors.
type BGPVirtualRouter struct {
	// LocalASN is the speaker's autonomous system number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	LocalASN int64 `json:"localASN"`

	// ServiceSelector selects the LoadBalancer Services whose ingress
	// addresses (status.loadBalancer.ingress) are announced, by their
	// labels; the keys io.kubernetes.service.namespace and
	// io.kubernetes.service.name match the service's namespace and name.
	// Nil announces no service.
	// +optional
	ServiceSelector *metav1.LabelSelector `json:"serviceSelector,omitempty"`

	// ServiceAttributes give the routes of the services they select BGP
	// attributes; a service selected by several gets the union of their
	// communities and the local preference and MED of the first that sets
	// them.
	// +optional
	// +listType=atomic
	ServiceAttributes []BGPServiceAttributes `json:"serviceAttributes,omitempty"`

	// Neighbors are the routers the speaker peers with.
	// +kubebuilder:validation:MinItems=1
	// +listType=atomic
	Neighbors []BGPNeighbor `json:"neighbors"`
}

// BGPServiceAttributes are path attributes for the routes of the services
// ServiceSelector selects.
type BGPServiceAttributes struct {
	// ServiceSelector selects the services, as BGPVirtualRouter's does;
	// nil selects every service the virtual router announces.
	// +optional
	ServiceSelector *metav1.LabelSelector `json:"serviceSelector,omitempty"`
	// Communities are RFC 1997 communities ("65000:100", "no-export").
	// +optional
	// +listType=atomic
	Communities []string `json:"communities,omitempty"`
	// LargeCommunities are RFC 8092 communities ("65000:1:1").
	// +optional
	// +listType=atomic
	LargeCommunities []string `json:"largeCommunities,omitempty"`
	// LocalPreference is sent to iBGP neighbors only.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	LocalPreference *int64 `json:"localPreference,omitempty"`
	// MED is the multi-exit discriminator.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	MED *int64 `json:"med,omitempty"`
}

// BGP address families a neighbor session carries.
const (
	FamilyIPv4Unicast = "ipv4-unicast"
	FamilyIPv6Unicast = "ipv6-unicast"
)

// A BGPNeighbor is a router a virtual router peers with.
type BGPNeighbor struct {
	// PeerAddress is the router's address, "192.0.2.1" or, as Cilium
	// writes it, "192.0.2.1/32".
	// +kubebuilder:validation:MinLength=1
	PeerAddress string `json:"peerAddress"`
	// PeerASN is the router's autonomous system number (LocalASN for
	// iBGP).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	PeerASN int64 `json:"peerASN"`
	// PeerPort is the router's TCP port; default 179.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	PeerPort *int32 `json:"peerPort,omitempty"`
	// LocalAddress is the session's source address on every node;
	// unset lets the node's kernel choose.
	// +optional
	LocalAddress string `json:"localAddress,omitempty"`
	// AuthSecretRef names a Secret in the agent's namespace whose
	// "password" key is the TCP MD5 (RFC 2385) password of the session.
	// +optional
	AuthSecretRef *string `json:"authSecretRef,omitempty"`
	// EBGPMultihopTTL is the IP TTL of an eBGP session with a router that
	// is not directly connected; unset or 1 means directly connected.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=255
	// +optional
	EBGPMultihopTTL *int32 `json:"eBGPMultihopTTL,omitempty"`
	// ConnectRetryTimeSeconds is the time between connection attempts;
	// default 3.
	// +kubebuilder:validation:Minimum=1
	// +optional
	ConnectRetryTimeSeconds *int32 `json:"connectRetryTimeSeconds,omitempty"`
	// HoldTimeSeconds is the proposed hold time; default 90.
	// +kubebuilder:validation:Minimum=3
	// +kubebuilder:validation:Maximum=65535
	// +optional
	HoldTimeSeconds *int32 `json:"holdTimeSeconds,omitempty"`
	// KeepAliveTimeSeconds is the keepalive interval; default a third of
	// the hold time.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	KeepAliveTimeSeconds *int32 `json:"keepAliveTimeSeconds,omitempty"`
	// GracefulRestart advertises the graceful-restart capability, so that
	// routers keep the node's routes while its agent restarts.
	// +optional
	GracefulRestart *BGPGracefulRestart `json:"gracefulRestart,omitempty"`
	// Families are the address families the session carries
	// ("ipv4-unicast", "ipv6-unicast"); default the family of
	// PeerAddress.
	// +optional
	// +listType=set
	Families []string `json:"families,omitempty"`
	// NextHopIPv4 and NextHopIPv6 set the next hop of the routes of that
	// family; a session carrying the family other than PeerAddress's
	// must set it.
	// +optional
	NextHopIPv4 string `json:"nextHopIPv4,omitempty"`
	// +optional
	NextHopIPv6 string `json:"nextHopIPv6,omitempty"`
}

// BGPGracefulRestart configures graceful restart (RFC 4724).
type BGPGracefulRestart struct {
	// Enabled advertises the capability.
	Enabled bool `json:"enabled"`
	// RestartTimeSeconds is how long routers keep the routes of a
	// restarting node; default 120.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4095
	// +optional
	RestartTimeSeconds *int32 `json:"restartTimeSeconds,omitempty"`
}

// BGPPeeringPolicyList is a list of BGPPeeringPolicies.
//
// +kubebuilder:object:root=true
type BGPPeeringPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPPeeringPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BGPPeeringPolicy{}, &BGPPeeringPolicyList{})
}
