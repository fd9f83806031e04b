package agentcmd

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbkit/lbkit/examples/kubernetes/agent"
	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/metrics"
	"github.com/lbkit/lbkit/l2/gossip"
)

// newManager builds the manager running the agent, with its election.
func newManager(ctx context.Context, cfg *rest.Config, o options, log *slog.Logger) (ctrl.Manager, error) {
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 v1alpha1.NewScheme(),
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.healthAddr,
	})
	if err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	ac := agent.Config{NodeName: o.node, Class: o.class, SecretNamespace: o.namespace, Logger: log}
	if o.routerID != "" {
		if ac.RouterID, err = netip.ParseAddr(o.routerID); err != nil {
			return nil, fmt.Errorf("-router-id: %w", err)
		}
	}
	direct, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return nil, err
	}
	switch o.election {
	case "gossip":
		c, err := startGossip(ctx, direct, o, log)
		if err != nil {
			return nil, err
		}
		ac.Election = c
	case "lease":
		e, err := startLease(ctx, direct, o, log)
		if err != nil {
			return nil, err
		}
		ac.Election = e
	}
	a, err := agent.Setup(mgr, ac)
	if err != nil {
		return nil, err
	}
	ctrlmetrics.Registry.MustRegister(metrics.NewAgentCollector(a))
	return mgr, nil
}

// startGossip joins the agents' gossip cluster on this node's InternalIP,
// seeded with the other nodes' InternalIPs.
func startGossip(ctx context.Context, c client.Client, o options, log *slog.Logger) (*gossip.Cluster, error) {
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes); err != nil {
		return nil, fmt.Errorf("listing nodes for the gossip cluster: %w", err)
	}
	var bind netip.Addr
	var join []string
	for _, n := range nodes.Items {
		ip := internalIP(&n)
		if !ip.IsValid() {
			continue
		}
		if n.Name == o.node {
			bind = ip
			continue
		}
		join = append(join, netip.AddrPortFrom(ip, uint16(o.gossipPort)).String())
	}
	if !bind.IsValid() {
		return nil, fmt.Errorf("node %s has no InternalIP to gossip on", o.node)
	}
	var secret []byte
	if o.gossipSecretFile != "" {
		b, err := os.ReadFile(o.gossipSecretFile)
		if err != nil {
			return nil, err
		}
		secret = b
	}
	log.Info("joining the gossip cluster", "bind", bind, "port", strconv.Itoa(o.gossipPort), "peers", join)
	return gossip.New(ctx, gossip.Config{Name: o.node, Bind: netip.AddrPortFrom(bind, uint16(o.gossipPort)),
		Join: join, Secret: secret, Logger: log.With("component", "gossip")})
}

// internalIP returns the node's first InternalIP.
func internalIP(n *corev1.Node) netip.Addr {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				return ip.Unmap()
			}
		}
	}
	return netip.Addr{}
}
