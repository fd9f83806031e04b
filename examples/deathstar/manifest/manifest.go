// Package manifest reads the deathstar example's configuration: three YAML
// manifests in the shapes of Cilium's CiliumLoadBalancerIPPool,
// CiliumBGPPeeringPolicy and CiliumL2AnnouncementPolicy (cilium.io/v2alpha1,
// the fields the example uses), converted into lbkit values.
//
// Decoding is strict, as Kubernetes' is: unknown fields and duplicate keys
// are errors. Load's errors wrap ErrInvalid and, for each wrong file, an
// *Error naming the file and, where it can, the field.
package manifest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// The manifest files in a manifests directory.
const (
	PoolFile = "pool.yaml"
	BGPFile  = "bgp-peering.yaml"
	L2File   = "l2-announcement.yaml"
)

// DefaultDir returns the example's manifests directory: manifests/ beside
// this package's source when run from the module (go run), else
// ./manifests.
func DefaultDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..", "manifests")
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	for _, d := range []string{"examples/deathstar/manifests", "manifests"} {
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	return "manifests"
}

// ErrInvalid is wrapped by every error of Load.
var ErrInvalid = errors.New("invalid manifest")

// An Error names the file and the field of a manifest that is wrong.
type Error struct {
	File  string // path of the manifest
	Field string // dotted path of the field, e.g. spec.blocks[1].cidr; empty for the whole file
	Err   error  // what is wrong
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.File, e.Field, e.Err)
}

// Unwrap returns ErrInvalid and the cause.
func (e *Error) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// Config is what the manifests say, converted into lbkit values.
type Config struct {
	Pool ipam.Pool
	BGP  BGPPolicy
	L2   L2Policy
}

// BGPPolicy is the node's BGP configuration: one speaker, its neighbors and
// the services it announces.
type BGPPolicy struct {
	Name     string
	ASN      uint32
	RouterID netip.Addr
	Selector selector.Selector
	Peers    []bgp.Peer
}

// L2Policy selects the services and interfaces of L2 announcements.
type L2Policy struct {
	Name       string
	Selector   selector.Selector
	Interfaces []string // regular expressions (or exact names), as l2.Config takes them
}

// Load reads and converts the three manifests in dir. It reports every
// file's first error.
func Load(dir string) (Config, error) {
	var c Config
	err := errors.Join(
		parseFile(filepath.Join(dir, PoolFile), &c.Pool, parsePool),
		parseFile(filepath.Join(dir, BGPFile), &c.BGP, parseBGP),
		parseFile(filepath.Join(dir, L2File), &c.L2, parseL2),
	)
	if err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseFile reads file and parses it with parse into *v.
func parseFile[T any](file string, v *T, parse func(file string, data []byte) (T, error)) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return &Error{File: file, Err: err}
	}
	*v, err = parse(file, data)
	return err
}

type objectMeta struct {
	Name string `json:"name"`
}

// header is the Kubernetes-style envelope shared by every manifest.
type header struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
}

// check validates the envelope: the kind, and a name.
func (h header) check(file, kind string) error {
	if h.Kind != kind {
		return &Error{file, "kind", fmt.Errorf("is %q, want %q", h.Kind, kind)}
	}
	if h.Metadata.Name == "" {
		return &Error{file, "metadata.name", errors.New("missing")}
	}
	return nil
}

// load decodes file into m and checks its envelope.
func load(file string, data []byte, kind string, m interface{ check(file, kind string) error }) error {
	if err := decode(file, data, m); err != nil {
		return err
	}
	return m.check(file, kind)
}

// decode decodes the YAML b of file into v strictly: an unknown field is
// an error naming the field, a duplicate key one naming its line.
func decode(file string, b []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return &Error{File: file, Err: err}
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return &Error{File: file, Err: err}
	}
	if len(strict) == 0 {
		return nil
	}
	var fe kjson.FieldError
	if !errors.As(strict[0], &fe) {
		return &Error{File: file, Err: strict[0]}
	}
	// fe reads `unknown field "spec.blokcs"`: keep what, name the field.
	path := fe.FieldPath()
	return &Error{file, path, errors.New(strings.TrimSuffix(fe.Error(), " "+strconv.Quote(path)))}
}

// selectorField converts a manifest's selector, naming the offending entry.
// A nil selector converts to ifNil.
func selectorField(file, field string, ls *selector.LabelSelector, ifNil selector.Selector) (selector.Selector, error) {
	if ls == nil {
		return ifNil, nil
	}
	s, err := ls.Selector()
	if err != nil {
		var se *selector.Error
		if errors.As(err, &se) && se.Where != "" {
			field += "." + se.Where
		}
		return selector.Selector{}, &Error{file, field, err}
	}
	return s, nil
}

// poolManifest is a CiliumLoadBalancerIPPool (cilium.io/v2alpha1), the
// fields this example uses.
type poolManifest struct {
	header
	Spec struct {
		Blocks []struct {
			CIDR  string `json:"cidr,omitempty"`
			Start string `json:"start,omitempty"`
			Stop  string `json:"stop,omitempty"`
		} `json:"blocks"`
		ServiceSelector   *selector.LabelSelector `json:"serviceSelector,omitempty"`
		Disabled          bool                    `json:"disabled,omitempty"`
		AllowFirstLastIPs string                  `json:"allowFirstLastIPs,omitempty"`
	} `json:"spec"`
}

func parsePool(file string, data []byte) (ipam.Pool, error) {
	var m poolManifest
	if err := load(file, data, "CiliumLoadBalancerIPPool", &m); err != nil {
		return ipam.Pool{}, err
	}
	p := ipam.Pool{Name: m.Metadata.Name, Disabled: m.Spec.Disabled}
	switch m.Spec.AllowFirstLastIPs {
	case "", "No":
	case "Yes":
		p.AllowFirstLast = true
	default:
		return ipam.Pool{}, &Error{file, "spec.allowFirstLastIPs", fmt.Errorf("is %q, want Yes or No", m.Spec.AllowFirstLastIPs)}
	}
	if len(m.Spec.Blocks) == 0 {
		return ipam.Pool{}, &Error{file, "spec.blocks", errors.New("no blocks")}
	}
	for i, b := range m.Spec.Blocks {
		r, field, err := blockRange(b.CIDR, b.Start, b.Stop)
		if err != nil {
			return ipam.Pool{}, &Error{file, fmt.Sprintf("spec.blocks[%d]%s", i, field), err}
		}
		p.Ranges = append(p.Ranges, r)
	}
	var err error
	p.ServiceSelector, err = selectorField(file, "spec.serviceSelector", m.Spec.ServiceSelector, selector.Selector{})
	return p, err
}

// blockRange converts a block, either a cidr or a start and a stop. On error
// it names the field (".cidr", ".start", ".stop" or "" for the block).
func blockRange(cidr, start, stop string) (ipam.Range, string, error) {
	switch {
	case cidr != "" && (start != "" || stop != ""):
		return ipam.Range{}, "", errors.New("has both cidr and start/stop")
	case cidr != "":
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return ipam.Range{}, ".cidr", err
		}
		if p != p.Masked() {
			return ipam.Range{}, ".cidr", fmt.Errorf("%s has host bits set (want %s)", p, p.Masked())
		}
		return ipam.PrefixRange(p), "", nil
	case start == "" && stop == "":
		return ipam.Range{}, "", errors.New("needs a cidr or a start and a stop")
	}
	from, err := netip.ParseAddr(start)
	if err != nil {
		return ipam.Range{}, ".start", err
	}
	to := from // a block with a start only is that one address, as in Cilium
	if stop != "" {
		if to, err = netip.ParseAddr(stop); err != nil {
			return ipam.Range{}, ".stop", err
		}
	}
	r, err := ipam.RangeFrom(from, to)
	if err != nil {
		return ipam.Range{}, ".stop", err
	}
	return r, "", nil
}

// bgpManifest is a CiliumBGPPeeringPolicy (cilium.io/v2alpha1), the fields
// this example uses, plus routerID.
type bgpManifest struct {
	header
	Spec struct {
		VirtualRouters []virtualRouter `json:"virtualRouters"`
	} `json:"spec"`
}

type virtualRouter struct {
	LocalASN        uint32                  `json:"localASN"`
	RouterID        string                  `json:"routerID"`
	ServiceSelector *selector.LabelSelector `json:"serviceSelector,omitempty"`
	Neighbors       []neighbor              `json:"neighbors"`
}

type neighbor struct {
	PeerAddress             string `json:"peerAddress"`
	PeerASN                 uint32 `json:"peerASN"`
	PeerPort                uint16 `json:"peerPort,omitempty"`
	EBGPMultihopTTL         uint8  `json:"eBGPMultihopTTL,omitempty"`
	ConnectRetryTimeSeconds int    `json:"connectRetryTimeSeconds,omitempty"`
	HoldTimeSeconds         int    `json:"holdTimeSeconds,omitempty"`
	KeepAliveTimeSeconds    int    `json:"keepAliveTimeSeconds,omitempty"`
	Families                []struct {
		AFI  string `json:"afi"`
		SAFI string `json:"safi"`
	} `json:"families,omitempty"`
}

func parseBGP(file string, data []byte) (BGPPolicy, error) {
	var m bgpManifest
	if err := load(file, data, "CiliumBGPPeeringPolicy", &m); err != nil {
		return BGPPolicy{}, err
	}
	if len(m.Spec.VirtualRouters) != 1 {
		return BGPPolicy{}, &Error{file, "spec.virtualRouters", fmt.Errorf("has %d entries, this example takes exactly 1", len(m.Spec.VirtualRouters))}
	}
	vr := m.Spec.VirtualRouters[0]
	const at = "spec.virtualRouters[0]"
	pol := BGPPolicy{Name: m.Metadata.Name, ASN: vr.LocalASN}
	if vr.LocalASN == 0 {
		return BGPPolicy{}, &Error{file, at + ".localASN", errors.New("missing or 0")}
	}
	id, err := netip.ParseAddr(vr.RouterID)
	if err != nil || !id.Is4() {
		return BGPPolicy{}, &Error{file, at + ".routerID", fmt.Errorf("%q is not an IPv4 address", vr.RouterID)}
	}
	pol.RouterID = id
	// As in Cilium, a virtual router without a service selector announces no service.
	if pol.Selector, err = selectorField(file, at+".serviceSelector", vr.ServiceSelector, selector.Nothing()); err != nil {
		return BGPPolicy{}, err
	}
	if len(vr.Neighbors) == 0 {
		return BGPPolicy{}, &Error{file, at + ".neighbors", errors.New("no neighbors")}
	}
	for i, n := range vr.Neighbors {
		p, field, err := n.peer()
		if err != nil {
			return BGPPolicy{}, &Error{file, fmt.Sprintf("%s.neighbors[%d].%s", at, i, field), err}
		}
		pol.Peers = append(pol.Peers, p)
	}
	return pol, nil
}

// peer converts a neighbor; on error it names the field.
func (n neighbor) peer() (bgp.Peer, string, error) {
	pfx, err := netip.ParsePrefix(n.PeerAddress)
	if err != nil || pfx.Bits() != pfx.Addr().BitLen() {
		return bgp.Peer{}, "peerAddress", fmt.Errorf("%q is not a host prefix (a.b.c.d/32 or x::y/128)", n.PeerAddress)
	}
	if n.PeerASN == 0 {
		return bgp.Peer{}, "peerASN", errors.New("missing or 0")
	}
	p := bgp.Peer{
		Address:       pfx.Addr(),
		ASN:           n.PeerASN,
		Port:          n.PeerPort,
		EBGPMultihop:  n.EBGPMultihopTTL,
		ConnectRetry:  time.Duration(n.ConnectRetryTimeSeconds) * time.Second,
		HoldTime:      time.Duration(n.HoldTimeSeconds) * time.Second,
		KeepaliveTime: time.Duration(n.KeepAliveTimeSeconds) * time.Second,
	}
	for name, v := range map[string]int{"connectRetryTimeSeconds": n.ConnectRetryTimeSeconds,
		"holdTimeSeconds": n.HoldTimeSeconds, "keepAliveTimeSeconds": n.KeepAliveTimeSeconds} {
		if v < 0 {
			return bgp.Peer{}, name, fmt.Errorf("is negative (%d)", v)
		}
	}
	for i, f := range n.Families {
		fam, ok := bgpFamilies[f.AFI+"/"+f.SAFI]
		if !ok {
			return bgp.Peer{}, fmt.Sprintf("families[%d]", i), fmt.Errorf("afi %q safi %q: want ipv4 or ipv6, unicast", f.AFI, f.SAFI)
		}
		p.Families = append(p.Families, fam)
	}
	return p, "", nil
}

var bgpFamilies = map[string]bgp.Family{"ipv4/unicast": bgp.IPv4Unicast, "ipv6/unicast": bgp.IPv6Unicast}

// l2Manifest is a CiliumL2AnnouncementPolicy (cilium.io/v2alpha1), the
// fields this example uses.
type l2Manifest struct {
	header
	Spec struct {
		ServiceSelector *selector.LabelSelector `json:"serviceSelector,omitempty"`
		Interfaces      []string                `json:"interfaces"`
		LoadBalancerIPs bool                    `json:"loadBalancerIPs"`
		ExternalIPs     bool                    `json:"externalIPs,omitempty"`
	} `json:"spec"`
}

func parseL2(file string, data []byte) (L2Policy, error) {
	var m l2Manifest
	if err := load(file, data, "CiliumL2AnnouncementPolicy", &m); err != nil {
		return L2Policy{}, err
	}
	if !m.Spec.LoadBalancerIPs {
		return L2Policy{}, &Error{file, "spec.loadBalancerIPs", errors.New("must be true: this example announces load-balancer addresses")}
	}
	if len(m.Spec.Interfaces) == 0 {
		return L2Policy{}, &Error{file, "spec.interfaces", errors.New("no interfaces")}
	}
	for i, expr := range m.Spec.Interfaces {
		if _, err := regexp.Compile(expr); err != nil {
			return L2Policy{}, &Error{file, fmt.Sprintf("spec.interfaces[%d]", i), err}
		}
	}
	// As in Cilium, a policy without a service selector selects every service.
	sel, err := selectorField(file, "spec.serviceSelector", m.Spec.ServiceSelector, selector.Selector{})
	if err != nil {
		return L2Policy{}, err
	}
	return L2Policy{Name: m.Metadata.Name, Selector: sel, Interfaces: m.Spec.Interfaces}, nil
}

// Selects reports whether the policy selects the interface named name:
// an exact match, or a match of a whole-name regular expression.
func (p L2Policy) Selects(name string) bool {
	for _, expr := range p.Interfaces {
		if expr == name {
			return true
		}
		if re, err := regexp.Compile("^(?:" + expr + ")$"); err == nil && re.MatchString(name) {
			return true
		}
	}
	return false
}
