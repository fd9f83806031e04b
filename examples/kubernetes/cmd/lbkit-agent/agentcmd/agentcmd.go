// Package agentcmd is the command lbkit-agent, importable so that tests run
// the very same program re-executed inside network namespaces. See the
// command's documentation.
package agentcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Main runs lbkit-agent with the command-line arguments args (without the
// program name), logging to stderr, until ctx ends, and returns the exit
// status.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("lbkit-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.level}))
	if err := run(ctx, o, log); err != nil {
		log.Error("lbkit-agent", "err", err)
		return 1
	}
	return 0
}

// options are the command-line flags.
type options struct {
	node, namespace, class, routerID string
	metricsAddr, healthAddr          string
	election                         string
	gossipPort                       int
	gossipSecretFile                 string
	leaseNamespace                   string
	leaseDuration, leaseRenew        time.Duration
	level                            slog.Level
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.node, "node-name", os.Getenv("NODE_NAME"), "name of this node (default $NODE_NAME)")
	fs.StringVar(&o.namespace, "namespace", os.Getenv("POD_NAMESPACE"), "namespace of the Secrets that authSecretRef names (default $POD_NAMESPACE)")
	fs.StringVar(&o.class, "load-balancer-class", "", "spec.loadBalancerClass served besides services without one")
	fs.StringVar(&o.routerID, "router-id", "", "BGP router ID (default: the node's first IPv4 InternalIP)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", ":7472", "address of the /metrics endpoint; 0 disables it")
	fs.StringVar(&o.healthAddr, "health-addr", ":7473", "address of /healthz and /readyz; 0 disables them")
	fs.StringVar(&o.election, "election", "gossip", "L2 election: gossip, lease or none (this node answers for everything)")
	fs.IntVar(&o.gossipPort, "gossip-port", 7946, "UDP and TCP port of the gossip election on the nodes' InternalIPs")
	fs.StringVar(&o.gossipSecretFile, "gossip-secret-file", "", "file holding the key that encrypts the gossip (recommended)")
	fs.StringVar(&o.leaseNamespace, "lease-namespace", "", "namespace of the election's Leases with -election=lease (default -namespace)")
	fs.DurationVar(&o.leaseDuration, "lease-duration", 0, "how long a node's Lease lives without renewal (-election=lease; default lease.DefaultDuration)")
	fs.DurationVar(&o.leaseRenew, "lease-renew", 0, "how often a node renews its Lease (-election=lease; default lease.DefaultRenew)")
	fs.TextVar(&o.level, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
}

func (o *options) check() error {
	if o.node == "" {
		return fmt.Errorf("-node-name (or $NODE_NAME) is required")
	}
	switch o.election {
	case "gossip", "lease", "none":
	default:
		return fmt.Errorf("-election=%q: want gossip, lease or none", o.election)
	}
	return nil
}

// run runs the agent until ctx ends.
func run(ctx context.Context, o options, log *slog.Logger) error {
	if err := o.check(); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	mgr, err := newManager(ctx, cfg, o, log)
	if err != nil {
		return err
	}
	log.Info("lbkit-agent starting", "node", o.node, "election", o.election)
	return mgr.Start(ctx)
}
