package agentcmd

import (
	"context"
	"log/slog"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/lease"
)

// startLease starts the Lease election in -lease-namespace (or -namespace).
func startLease(ctx context.Context, c client.Client, o options, log *slog.Logger) (*lease.Elector, error) {
	ns := o.leaseNamespace
	if ns == "" {
		ns = o.namespace
	}
	return lease.New(ctx, lease.Config{Client: c, Namespace: ns, Node: o.node,
		Duration: o.leaseDuration, Renew: o.leaseRenew, Logger: log.With("component", "lease")})
}
