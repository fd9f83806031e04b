package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The condition every node selected by a BGPPeeringPolicy or an
// L2AnnouncementPolicy reports in the policy's status.nodes, with its
// reasons. The agent on each node writes its own entry and never another
// node's.
const (
	// ConditionApplied is True when the agent applied the whole policy on
	// its node, False with one of the reasons below when it could not.
	ConditionApplied = "Applied"

	ReasonApplied             = "Applied"             // everything applied
	ReasonInvalidPolicy       = "InvalidPolicy"       // a field cannot be used (bad peer address, bad regular expression, …)
	ReasonSecretUnavailable   = "SecretUnavailable"   // a referenced Secret or its "password" key is missing
	ReasonNoMatchingInterface = "NoMatchingInterface" // no interface of the node matches interfaces
	ReasonApplyFailed         = "ApplyFailed"         // lbkit refused or failed a call (a port in use, a duplicate peer, …)
)

// PolicyStatus is the status of a BGPPeeringPolicy or an
// L2AnnouncementPolicy: what the agent on each selected node could apply.
type PolicyStatus struct {
	// Nodes holds one entry per node whose agent applies the policy.
	// +listType=map
	// +listMapKey=node
	// +optional
	Nodes []NodePolicyStatus `json:"nodes,omitempty"`
}

// NodePolicyStatus is one node's view of a policy.
type NodePolicyStatus struct {
	// Node is the node's name.
	Node string `json:"node"`
	// Conditions holds the Applied condition.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
