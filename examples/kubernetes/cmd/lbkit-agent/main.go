// Command lbkit-agent is lbkit's node agent for Kubernetes: run one per node
// (a DaemonSet with host networking, CAP_NET_RAW and CAP_NET_BIND_SERVICE;
// see config/agent). It announces the addresses lbkit-controller writes into
// Service status over BGP and ARP/NDP, as the BGPPeeringPolicies and
// L2AnnouncementPolicies selecting its node say (package agent), and serves
// Prometheus metrics on /metrics.
//
// The L2 election is, with -election=gossip (the default), a gossip
// cluster (package l2/gossip) of the agents on their nodes' InternalIPs,
// port -gossip-port, seeded from the Node objects; with -election=lease,
// one coordination.k8s.io Lease per node in -lease-namespace (package
// lease), for clusters that forbid the gossip port.
//
// Usage:
//
//	lbkit-agent -node-name=$(NODE_NAME) -namespace=lbkit-system [flags]
//
// SIGTERM hands over: the agent leaves the election (another node answers
// ARP and NDP at once) and closes its BGP sessions keeping the routes at
// neighbors with graceful restart.
package main

import (
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/lbkit/lbkit/examples/kubernetes/cmd/lbkit-agent/agentcmd"
)

func main() {
	os.Exit(agentcmd.Main(ctrl.SetupSignalHandler(), os.Args[1:], os.Stderr))
}
