// Package ipamctl is a LoadBalancer IPAM controller for Kubernetes built on
// lbkit's ipam.Manager and controller-runtime: it hands out external
// addresses from LoadBalancerIPPools (lbkit.io/v1alpha1) to Services of
// type LoadBalancer and writes them to status.loadBalancer.ingress, IPv4
// first, with the condition lbkit.io/IPAMRequestSatisfied.
//
// Register it with a manager and run the manager:
//
//	mgr, _ := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, LeaderElection: true, …})
//	if err := ipamctl.Setup(mgr, ipamctl.Options{}); err != nil { … }
//	mgr.Start(ctx)
//
// What to watch out for:
//
//   - Start-up barrier: once elected, the controller reads every pool and
//     every LoadBalancer Service and restores the addresses in their status
//     (ipam.Manager.Restore) before it serves any service, so a restart or
//     a fail-over moves nothing and writes nothing.
//   - Run one active replica: enable the manager's leader election. The
//     controllers and the barrier run only on the leader.
//   - Requests come from annotations: lbkit.io/ips (or lbipam.cilium.io/ips,
//     metallb.io/loadBalancerIPs, spec.loadBalancerIP), lbkit.io/sharing-key
//     (or lbipam.cilium.io/sharing-key, metallb.io/allow-shared-ip) and
//     lbkit.io/pool (or metallb.io/address-pool); lbkit's own annotation
//     wins over the others. An unparsable annotation is reported in the
//     condition (reason InvalidRequest) and the service keeps what it holds.
//   - Events are written only when something changes: an address assigned,
//     moved (with the reason), released, or a request refused.
//   - Services with a spec.loadBalancerClass other than Options.Class are
//     left alone.
//
// Concurrency: Setup starts nothing; the manager runs the reconcilers,
// which share one ipam.Manager (safe for concurrent use).
package ipamctl
