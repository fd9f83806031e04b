// Command lbkit-controller is a LoadBalancer IPAM controller: it hands out
// addresses from LoadBalancerIPPools (lbkit.io/v1alpha1) to Services of type
// LoadBalancer. It runs as one active replica (leader election on a Lease).
//
// Usage:
//
//	lbkit-controller [--kubeconfig FILE] [flags]
//
// Without --kubeconfig it uses $KUBECONFIG, then the in-cluster config.
// Install the CRD and RBAC from config/ first (see the module's README).
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/ipamctl"
	"github.com/lbkit/lbkit/examples/kubernetes/metrics"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lbkit-controller:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("lbkit-controller", flag.ContinueOnError)
	var (
		kubeconfig  = fs.String("kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then in-cluster)")
		class       = fs.String("load-balancer-class", "", "spec.loadBalancerClass to serve besides services without one")
		leNamespace = fs.String("leader-election-namespace", "lbkit-system", "namespace of the leader-election Lease")
		leID        = fs.String("leader-election-id", ipamctl.Name, "name of the leader-election Lease")
		noLE        = fs.Bool("no-leader-election", false, "run without leader election (one replica only)")
		healthAddr  = fs.String("health-addr", ":8081", "address of /healthz and /readyz (\"0\" disables)")
		metricsAddr = fs.String("metrics-addr", "0", "address of /metrics (\"0\" disables)")
		qps         = fs.Float64("kube-api-qps", 100, "client requests per second to the API server")
		burst       = fs.Int("kube-api-burst", 200, "client request burst")
		workers     = fs.Int("workers", 8, "services reconciled at once")
		verbose     = fs.Bool("v", false, "log every decision")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))

	if *kubeconfig != "" {
		os.Setenv("KUBECONFIG", *kubeconfig)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst, cfg.UserAgent = float32(*qps), *burst, ipamctl.Name

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        v1alpha1.NewScheme(),
		Metrics:                       metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress:        *healthAddr,
		LeaderElection:                !*noLE,
		LeaderElectionID:              *leID,
		LeaderElectionNamespace:       *leNamespace,
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       ptr(10 * time.Second),
	})
	if err != nil {
		return err
	}
	if _, err := ipamctl.Setup(mgr, ipamctl.Options{Class: *class, Workers: *workers, Logger: log}); err != nil {
		return err
	}
	ctrlmetrics.Registry.MustRegister(metrics.NewControllerCollector(mgr.GetClient(), *class))
	if *healthAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
			return err
		}
	}
	log.Info("starting", "leader_election", !*noLE, "class", *class)
	return mgr.Start(ctrl.SetupSignalHandler())
}

func ptr[T any](v T) *T { return &v }
