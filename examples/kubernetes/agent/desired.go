package agent

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/selector"
)

// Keys of the labels every service carries for selectors besides its own.
const (
	LabelServiceNamespace = "io.kubernetes.service.namespace"
	LabelServiceName      = "io.kubernetes.service.name"
)

// world is what the agent reads from the API for one reconciliation.
type world struct {
	node     *corev1.Node // this node; nil when it is not (yet) known
	nodes    []corev1.Node
	bgp      []v1alpha1.BGPPeeringPolicy
	l2       []v1alpha1.L2AnnouncementPolicy
	services []corev1.Service
	slices   []discoveryv1.EndpointSlice
}

// service is a Service as the agent sees it.
type service struct {
	key    string // namespace/name
	obj    *corev1.Service
	labels selector.Set
	lb     []netip.Addr // status.loadBalancer.ingress
	ext    []netip.Addr // spec.externalIPs
	local  bool         // externalTrafficPolicy Local
	ready  map[string]bool
}

// readyOn reports whether s may be announced by node: any node for
// externalTrafficPolicy Cluster, only nodes with a ready endpoint for Local.
func (s *service) readyOn(node string) bool { return !s.local || s.ready[node] }

// policyKey names a policy in the conditions map.
type policyKey struct {
	kind string // "bgp" or "l2"
	name string
}

// problems collects, per policy selecting this node, what could not be
// applied; a policy with none is Applied.
type problems map[policyKey][]problem

type problem struct{ reason, msg string }

func (p problems) add(k policyKey, reason, format string, args ...any) {
	p[k] = append(p[k], problem{reason, fmt.Sprintf(format, args...)})
}

// desired is what this node should announce.
type desired struct {
	selectedBGP map[string]bool // BGP policies selecting this node
	selectedL2  map[string]bool // L2 policies selecting this node
	vrs         map[string]*vrDesired
	l2s         map[string]*l2Desired
	candidates  map[string][]string // L2 service key → the nodes that may answer
	noEndpoints map[string]*corev1.Service
}

// vrDesired is one virtual router of a policy selecting this node.
type vrDesired struct {
	key       string // policy/asn
	policy    string
	asn       uint32
	attrs     []v1alpha1.BGPServiceAttributes
	neighbors []v1alpha1.BGPNeighbor
	services  map[string]announce.Service
}

// l2Desired is an L2 policy selecting this node.
type l2Desired struct {
	policy     string
	interfaces []string
	services   map[string]announce.Service
}

// compute derives this node's desired state from w. Problems found in
// policies go to probs.
func compute(w *world, self string, probs problems) *desired {
	d := &desired{
		selectedBGP: map[string]bool{}, selectedL2: map[string]bool{},
		vrs: map[string]*vrDesired{}, l2s: map[string]*l2Desired{},
		candidates: map[string][]string{}, noEndpoints: map[string]*corev1.Service{},
	}
	svcs := services(w)
	var nodeLabels map[string]string
	if w.node != nil {
		nodeLabels = w.node.Labels
	}
	for i := range w.bgp {
		p := &w.bgp[i]
		k := policyKey{"bgp", p.Name}
		nodeSel, err := convert(p.Spec.NodeSelector, true)
		if err != nil {
			continue // cannot tell whether it selects us: no status to write
		}
		if w.node == nil || !nodeSel.Matches(selector.Set(nodeLabels)) {
			continue
		}
		d.selectedBGP[p.Name] = true
		d.addVirtualRouters(p, svcs, self, probs, k)
	}
	for i := range w.l2 {
		p := &w.l2[i]
		k := policyKey{"l2", p.Name}
		nodeSel, err := convert(p.Spec.NodeSelector, true)
		svcSel, err2 := convert(p.Spec.ServiceSelector, true)
		if err != nil || err2 != nil {
			if err == nil && w.node != nil && nodeSel.Matches(selector.Set(nodeLabels)) {
				d.selectedL2[p.Name] = true
				probs.add(k, v1alpha1.ReasonInvalidPolicy, "serviceSelector: %v", err2)
			}
			continue
		}
		nodes := selectedNodes(w.nodes, nodeSel)
		selected := w.node != nil && nodeSel.Matches(selector.Set(nodeLabels))
		var ld *l2Desired
		if selected {
			d.selectedL2[p.Name] = true
			ld = &l2Desired{policy: p.Name, interfaces: p.Spec.Interfaces, services: map[string]announce.Service{}}
			d.l2s[p.Name] = ld
		}
		for _, s := range svcs {
			addrs := l2Addrs(s, &p.Spec)
			if len(addrs) == 0 || !svcSel.Matches(s.labels) {
				continue
			}
			if _, ok := d.candidates[s.key]; !ok {
				d.candidates[s.key] = []string{} // an empty set: nobody leads
			}
			for _, n := range nodes {
				if s.readyOn(n) {
					d.candidates[s.key] = append(d.candidates[s.key], n)
				}
			}
			if s.local && len(s.ready) == 0 {
				d.noEndpoints[s.key] = s.obj
			}
			if selected && s.readyOn(self) {
				ld.services[s.key] = announce.Service{Key: s.key, Labels: s.labels, Addrs: addrs}
			}
		}
	}
	for k, c := range d.candidates {
		slices.Sort(c)
		d.candidates[k] = slices.Compact(c)
	}
	return d
}

// addVirtualRouters adds the virtual routers of p, which selects this node.
func (d *desired) addVirtualRouters(p *v1alpha1.BGPPeeringPolicy, svcs []*service, self string, probs problems, k policyKey) {
	seen := map[int64]bool{}
	for _, vr := range p.Spec.VirtualRouters {
		if vr.LocalASN < 1 || vr.LocalASN > 1<<32-1 {
			probs.add(k, v1alpha1.ReasonInvalidPolicy, "localASN %d out of range", vr.LocalASN)
			continue
		}
		if seen[vr.LocalASN] {
			probs.add(k, v1alpha1.ReasonInvalidPolicy, "localASN %d used by two virtual routers", vr.LocalASN)
			continue
		}
		seen[vr.LocalASN] = true
		sel, err := convert(vr.ServiceSelector, false)
		if err != nil {
			probs.add(k, v1alpha1.ReasonInvalidPolicy, "virtual router %d: serviceSelector: %v", vr.LocalASN, err)
			continue
		}
		v := &vrDesired{key: fmt.Sprintf("%s/%d", p.Name, vr.LocalASN), policy: p.Name, asn: uint32(vr.LocalASN),
			attrs: vr.ServiceAttributes, neighbors: vr.Neighbors, services: map[string]announce.Service{}}
		for _, s := range svcs {
			if len(s.lb) == 0 || !sel.Matches(s.labels) {
				continue
			}
			if s.local && len(s.ready) == 0 {
				d.noEndpoints[s.key] = s.obj
			}
			if s.readyOn(self) {
				v.services[s.key] = announce.Service{Key: s.key, Labels: s.labels, Addrs: s.lb}
			}
		}
		d.vrs[v.key] = v
	}
}

// l2Addrs returns the addresses of s that policy spec announces.
func l2Addrs(s *service, spec *v1alpha1.L2AnnouncementPolicySpec) []netip.Addr {
	var out []netip.Addr
	if spec.LoadBalancerIPs {
		out = append(out, s.lb...)
	}
	if spec.ExternalIPs {
		out = append(out, s.ext...)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// selectedNodes returns the names of the nodes sel selects, sorted.
func selectedNodes(nodes []corev1.Node, sel selector.Selector) []string {
	var out []string
	for i := range nodes {
		if nodes[i].DeletionTimestamp == nil && sel.Matches(selector.Set(nodes[i].Labels)) {
			out = append(out, nodes[i].Name)
		}
	}
	sort.Strings(out)
	return out
}

// services returns the services of w that have addresses to announce,
// with the nodes of their ready endpoints.
func services(w *world) []*service {
	ready := map[string]map[string]bool{} // service key → nodes
	for i := range w.slices {
		es := &w.slices[i]
		name := es.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		key := es.Namespace + "/" + name
		for _, ep := range es.Endpoints {
			if ep.NodeName == nil || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
				continue
			}
			if ready[key] == nil {
				ready[key] = map[string]bool{}
			}
			ready[key][*ep.NodeName] = true
		}
	}
	var out []*service
	for i := range w.services {
		o := &w.services[i]
		if o.DeletionTimestamp != nil {
			continue
		}
		s := &service{key: o.Namespace + "/" + o.Name, obj: o}
		if o.Spec.Type == corev1.ServiceTypeLoadBalancer {
			for _, in := range o.Status.LoadBalancer.Ingress {
				if a, err := netip.ParseAddr(in.IP); err == nil && a.Zone() == "" {
					s.lb = append(s.lb, a.Unmap())
				}
			}
		}
		for _, ip := range o.Spec.ExternalIPs {
			if a, err := netip.ParseAddr(ip); err == nil && a.Zone() == "" {
				s.ext = append(s.ext, a.Unmap())
			}
		}
		if len(s.lb) == 0 && len(s.ext) == 0 {
			continue
		}
		s.labels = make(selector.Set, len(o.Labels)+2)
		for k, v := range o.Labels {
			s.labels[k] = v
		}
		s.labels[LabelServiceNamespace] = o.Namespace
		s.labels[LabelServiceName] = o.Name
		s.local = o.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
		s.ready = ready[s.key]
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// convert turns a Kubernetes label selector into lbkit's. A nil one selects
// everything when nilAll, nothing otherwise.
func convert(ls *metav1.LabelSelector, nilAll bool) (selector.Selector, error) {
	if ls == nil {
		if nilAll {
			return selector.Everything(), nil
		}
		return selector.Nothing(), nil
	}
	b, err := json.Marshal(ls)
	if err != nil {
		return selector.Selector{}, err
	}
	var l selector.LabelSelector
	if err := json.Unmarshal(b, &l); err != nil {
		return selector.Selector{}, err
	}
	return l.Selector()
}

// joinProblems is the message of the Applied condition.
func joinProblems(ps []problem) (reason, msg string) {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.msg
	}
	return ps[0].reason, strings.Join(msgs, "; ")
}
