// Package agent is lbkit's node agent for Kubernetes: on every node it makes
// the network reach the addresses that the controller (package ipamctl)
// writes into the status of LoadBalancer Services, as Cilium's agent and
// MetalLB's speaker do, with lbkit's bgp and l2 packages.
//
// It reads two cluster-scoped policies of lbkit.io/v1alpha1:
//
//   - BGPPeeringPolicy: on the nodes its nodeSelector selects, each virtual
//     router becomes one bgp.Speaker (its localASN), peering with the
//     router's neighbors and announcing the ingress addresses of the
//     services its serviceSelector selects, with the attributes of its
//     serviceAttributes (bgp.Rule).
//   - L2AnnouncementPolicy: on the nodes its nodeSelector selects, one
//     l2.Announcer answers ARP and NDP on the interfaces its regular
//     expressions match, for the load-balancer (and, if asked, external)
//     addresses of the services its serviceSelector selects. One node
//     answers for each service: the Election's winner among the candidates,
//     the selected nodes (all agents compute the same set from the API).
//
// The agent announces exactly the addresses in status.loadBalancer.ingress:
// it withdraws them when the service goes, loses its addresses, stops
// matching a policy, or the policy stops selecting the node. Changes apply
// in place: a neighbor added, removed or changed touches that session only,
// a service only its own routes. For services with externalTrafficPolicy
// Local, only nodes with a ready endpoint (EndpointSlices) announce over
// BGP and are L2 candidates; with none anywhere, nobody announces and the
// service gets a NoReadyEndpoints event.
//
// Each agent reports in every policy selecting its node (status.nodes, its
// own entry only) the condition Applied: True, or False with a reason
// (InvalidPolicy, SecretUnavailable, NoMatchingInterface, ApplyFailed) and a
// message. A bad policy never stops the agent: what can be applied is.
//
// Use it from a program with a controller-runtime manager:
//
//	a, err := agent.Setup(mgr, agent.Config{NodeName: node, Election: cluster})
//	err = mgr.Start(ctx) // on return, the agent has stopped (see Agent.Stop)
//
// What to watch out for:
//
//   - The agent dials out to its BGP neighbors and does not listen: routers
//     must accept the sessions (BIRD and FRR do by default).
//   - A change of a virtual router's serviceAttributes restarts its speaker
//     (graceful restart keeps the routes at neighbors that have it); a change
//     of an L2 policy's interfaces restarts its announcer.
//   - Every reconciliation recomputes the node's whole desired state from the
//     informer caches and applies only differences; events are coalesced,
//     so a burst of changes costs one pass.
//
// Concurrency: an Agent is safe for concurrent use; its reconciliations run
// one at a time.
package agent
