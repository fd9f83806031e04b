// Package metrics exposes lbkit's controller and agent state as Prometheus
// metrics. lbkit's library packages keep no Prometheus dependency: they
// expose counters (l2.Announcer.Stats, bgp.Speaker.Peers) and this package
// reads them at scrape time. Register the collectors with the
// controller-runtime manager's registry, which serves /metrics:
//
//	ctrlmetrics.Registry.MustRegister(metrics.NewAgentCollector(agent))
//	ctrlmetrics.Registry.MustRegister(metrics.NewControllerCollector(mgr.GetClient(), class))
//
// The metrics, all labelled with low-cardinality values (no addresses):
//
//	lbkit_pool_addresses{pool,family,state="used|free"}      gauge   controller
//	lbkit_services_unsatisfied                              gauge   controller
//	lbkit_bgp_session_up{peer}                              gauge   agent
//	lbkit_bgp_advertised_prefixes{peer}                     gauge   agent
//	lbkit_l2_requests_received_total{interface,protocol}    counter agent
//	lbkit_l2_replies_sent_total{interface,protocol}         counter agent
//	lbkit_l2_gratuitous_sent_total{interface,protocol}      counter agent
//	lbkit_announced{service,protocol,node}                  gauge   agent (1 per announced service)
//	lbkit_election_changes_total                            counter agent
//
// lbkit_announced has one series per service this node announces, as
// MetalLB's metallb_speaker_announced: sum it by service to see how many
// nodes announce each. protocol is "arp" or "ndp" on L2 counters and "bgp"
// or "l2" on lbkit_announced.
//
// Concurrency: the collectors are safe for concurrent scrapes.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbkit/lbkit/examples/kubernetes/agent"
	"github.com/lbkit/lbkit/l2"
)

// scrapeTimeout bounds the API and GoBGP calls of one scrape.
const scrapeTimeout = 5 * time.Second

// AgentSource is what the agent collector reads; *agent.Agent implements
// it.
type AgentSource interface {
	NodeName() string
	Announcements() []agent.Announcement
	Peers(ctx context.Context) []agent.PeerStatus
	L2Stats() []l2.InterfaceStats
	ElectionChanges() uint64
}

var (
	sessionUp = prometheus.NewDesc("lbkit_bgp_session_up",
		"Whether the BGP session to the peer is established (1) or not (0).", []string{"peer"}, nil)
	advertised = prometheus.NewDesc("lbkit_bgp_advertised_prefixes",
		"Prefixes advertised to the peer.", []string{"peer"}, nil)
	requests = prometheus.NewDesc("lbkit_l2_requests_received_total",
		"ARP requests or neighbour solicitations received, for any address.", []string{"interface", "protocol"}, nil)
	replies = prometheus.NewDesc("lbkit_l2_replies_sent_total",
		"ARP replies or neighbour advertisements sent for service addresses.", []string{"interface", "protocol"}, nil)
	gratuitous = prometheus.NewDesc("lbkit_l2_gratuitous_sent_total",
		"Gratuitous ARP requests or unsolicited neighbour advertisements sent.", []string{"interface", "protocol"}, nil)
	announced = prometheus.NewDesc("lbkit_announced",
		"1 for each service this node announces, by protocol (bgp or l2).", []string{"service", "protocol", "node"}, nil)
	electionChanges = prometheus.NewDesc("lbkit_election_changes_total",
		"Changes of the node answering for an L2 service, as this node saw them.", nil, nil)
)

type agentCollector struct{ src AgentSource }

// NewAgentCollector returns a collector of the agent metrics of src.
func NewAgentCollector(src AgentSource) prometheus.Collector { return agentCollector{src} }

func (agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sessionUp, advertised, requests, replies, gratuitous, announced, electionChanges} {
		ch <- d
	}
}

func (c agentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	for _, p := range c.src.Peers(ctx) {
		up := 0.0
		if p.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(sessionUp, prometheus.GaugeValue, up, p.Peer)
		ch <- prometheus.MustNewConstMetric(advertised, prometheus.GaugeValue, float64(p.Advertised), p.Peer)
	}
	for _, st := range c.src.L2Stats() {
		for _, pc := range []struct {
			proto string
			c     l2.Counters
		}{{"arp", st.ARP}, {"ndp", st.NDP}} {
			ch <- prometheus.MustNewConstMetric(requests, prometheus.CounterValue, float64(pc.c.Requests), st.Interface, pc.proto)
			ch <- prometheus.MustNewConstMetric(replies, prometheus.CounterValue, float64(pc.c.Replies), st.Interface, pc.proto)
			ch <- prometheus.MustNewConstMetric(gratuitous, prometheus.CounterValue, float64(pc.c.Gratuitous), st.Interface, pc.proto)
		}
	}
	node := c.src.NodeName()
	for _, an := range c.src.Announcements() {
		ch <- prometheus.MustNewConstMetric(announced, prometheus.GaugeValue, 1, an.Service, an.Protocol, node)
	}
	ch <- prometheus.MustNewConstMetric(electionChanges, prometheus.CounterValue, float64(c.src.ElectionChanges()))
}
