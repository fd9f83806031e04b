package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
)

// errSecret marks a neighbor whose password Secret cannot be read.
var errSecret = errors.New("secret unavailable")

// speaker is a running virtual router.
type speaker struct {
	sp        *bgp.Speaker
	asn       uint32
	attrs     []v1alpha1.BGPServiceAttributes // the rules it was started with
	peers     map[netip.Addr]bgp.Peer
	announced map[string]announce.Service
}

// applyBGP makes the running speakers match d.vrs.
func (a *Agent) applyBGP(ctx context.Context, d *desired, probs problems, password func(string) (string, error)) {
	for key, s := range a.speakers {
		vr, ok := d.vrs[key]
		if ok && reflect.DeepEqual(vr.attrs, s.attrs) {
			continue
		}
		if ok {
			a.log.Info("restarting virtual router for new service attributes", "router", key)
			_ = s.sp.CloseGraceful()
		} else {
			a.log.Info("stopping virtual router", "router", key)
			_ = s.sp.Close()
		}
		delete(a.speakers, key)
	}
	used := map[netip.Addr]string{} // peer address → virtual router using it
	for _, key := range sortedKeys(d.vrs) {
		vr := d.vrs[key]
		k := policyKey{"bgp", vr.policy}
		s := a.speakers[key]
		if s == nil {
			var err error
			if s, err = a.startSpeaker(ctx, vr); err != nil {
				reason := v1alpha1.ReasonApplyFailed
				if errors.Is(err, bgp.ErrInvalidCommunity) || errors.Is(err, bgp.ErrInvalidConfig) {
					reason = v1alpha1.ReasonInvalidPolicy
				}
				probs.add(k, reason, "virtual router %d: %v", vr.asn, err)
				continue
			}
			a.speakers[key] = s
		}
		a.applyPeers(ctx, s, vr, used, probs, password)
		for _, err := range applyServices(ctx, s.sp, s.announced, vr.services) {
			probs.add(k, v1alpha1.ReasonApplyFailed, "virtual router %d: %v", vr.asn, err)
		}
	}
}

// startSpeaker starts the speaker of vr.
func (a *Agent) startSpeaker(ctx context.Context, vr *vrDesired) (*speaker, error) {
	if !a.routerID.Is4() {
		return nil, fmt.Errorf("no BGP router ID: the node has no IPv4 InternalIP and none is configured")
	}
	rules, err := rules(vr.attrs)
	if err != nil {
		return nil, err
	}
	sp, err := bgp.New(ctx, bgp.Config{ASN: vr.asn, RouterID: a.routerID, Rules: rules,
		Logger: a.log.With("router", vr.key)})
	if err != nil {
		return nil, err
	}
	a.log.Info("started virtual router", "router", vr.key, "asn", vr.asn)
	return &speaker{sp: sp, asn: vr.asn, attrs: vr.attrs, peers: map[netip.Addr]bgp.Peer{},
		announced: map[string]announce.Service{}}, nil
}

// applyPeers makes s's neighbors those of vr that can be used.
func (a *Agent) applyPeers(ctx context.Context, s *speaker, vr *vrDesired, used map[netip.Addr]string, probs problems, password func(string) (string, error)) {
	k := policyKey{"bgp", vr.policy}
	want := map[netip.Addr]bgp.Peer{}
	for _, n := range vr.neighbors {
		p, err := peer(n, password)
		switch {
		case errors.Is(err, errSecret):
			probs.add(k, v1alpha1.ReasonSecretUnavailable, "neighbor %s: %v", n.PeerAddress, err)
			if old, ok := s.peers[p.Address]; ok && p.Address.IsValid() {
				want[p.Address] = old // keep the session as it is until the Secret is back
				used[p.Address] = vr.key
			}
			continue
		case err != nil:
			probs.add(k, v1alpha1.ReasonInvalidPolicy, "neighbor %q: %v", n.PeerAddress, err)
			continue
		}
		if other, ok := used[p.Address]; ok {
			probs.add(k, v1alpha1.ReasonApplyFailed, "neighbor %s: already a neighbor of virtual router %s on this node", p.Address, other)
			continue
		}
		used[p.Address] = vr.key
		want[p.Address] = p
	}
	for addr := range s.peers {
		if _, ok := want[addr]; !ok {
			if err := s.sp.RemovePeer(ctx, addr); err != nil && !errors.Is(err, bgp.ErrUnknownPeer) {
				probs.add(k, v1alpha1.ReasonApplyFailed, "neighbor %s: %v", addr, err)
				continue
			}
			delete(s.peers, addr)
		}
	}
	addrs := make([]netip.Addr, 0, len(want))
	for addr := range want {
		addrs = append(addrs, addr)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	for _, addr := range addrs {
		p := want[addr]
		old, ok := s.peers[addr]
		var err error
		switch {
		case !ok:
			err = s.sp.AddPeer(ctx, p)
		case !reflect.DeepEqual(old, p):
			err = s.sp.UpdatePeer(ctx, p)
		default:
			continue
		}
		if err != nil {
			reason := v1alpha1.ReasonApplyFailed
			if errors.Is(err, bgp.ErrInvalidPeer) {
				reason = v1alpha1.ReasonInvalidPolicy
			}
			probs.add(k, reason, "neighbor %s: %v", addr, err)
			continue
		}
		s.peers[addr] = p
	}
}

// peer converts a neighbor of a policy into a bgp.Peer.
func peer(n v1alpha1.BGPNeighbor, password func(string) (string, error)) (bgp.Peer, error) {
	var p bgp.Peer
	addr, err := parsePeerAddress(n.PeerAddress)
	if err != nil {
		return p, err
	}
	p.Address = addr
	if n.PeerASN < 1 || n.PeerASN > 1<<32-1 {
		return p, fmt.Errorf("peerASN %d out of range", n.PeerASN)
	}
	p.ASN = uint32(n.PeerASN)
	if n.PeerPort != nil {
		if *n.PeerPort < 1 || *n.PeerPort > 65535 {
			return p, fmt.Errorf("peerPort %d out of range", *n.PeerPort)
		}
		p.Port = uint16(*n.PeerPort)
	}
	for _, f := range []struct {
		s   string
		dst *netip.Addr
	}{{n.LocalAddress, &p.LocalAddress}, {n.NextHopIPv4, &p.NextHopIPv4}, {n.NextHopIPv6, &p.NextHopIPv6}} {
		if f.s == "" {
			continue
		}
		if *f.dst, err = netip.ParseAddr(f.s); err != nil {
			return p, err
		}
	}
	if n.EBGPMultihopTTL != nil && *n.EBGPMultihopTTL > 1 && *n.EBGPMultihopTTL < 256 {
		p.EBGPMultihop = uint8(*n.EBGPMultihopTTL)
	}
	p.ConnectRetry = seconds(n.ConnectRetryTimeSeconds)
	p.HoldTime = seconds(n.HoldTimeSeconds)
	p.KeepaliveTime = seconds(n.KeepAliveTimeSeconds)
	if gr := n.GracefulRestart; gr != nil && gr.Enabled {
		p.GracefulRestart = true
		p.RestartTime = seconds(gr.RestartTimeSeconds)
	}
	for _, f := range n.Families {
		switch f {
		case v1alpha1.FamilyIPv4Unicast:
			p.Families = append(p.Families, bgp.IPv4Unicast)
		case v1alpha1.FamilyIPv6Unicast:
			p.Families = append(p.Families, bgp.IPv6Unicast)
		default:
			return p, fmt.Errorf("unknown family %q (want %s or %s)", f, v1alpha1.FamilyIPv4Unicast, v1alpha1.FamilyIPv6Unicast)
		}
	}
	if n.AuthSecretRef != nil {
		if p.Password, err = password(*n.AuthSecretRef); err != nil {
			return p, err
		}
	}
	return p, nil
}

// parsePeerAddress accepts "192.0.2.1" and Cilium's "192.0.2.1/32".
func parsePeerAddress(s string) (netip.Addr, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Addr{}, err
		}
		if !p.IsSingleIP() {
			return netip.Addr{}, fmt.Errorf("peerAddress %s is not a single address", s)
		}
		return p.Addr(), nil
	}
	return netip.ParseAddr(s)
}

func seconds(p *int32) time.Duration {
	if p == nil || *p <= 0 {
		return 0
	}
	return time.Duration(*p) * time.Second
}

// rules converts serviceAttributes into bgp.Rules.
func rules(attrs []v1alpha1.BGPServiceAttributes) ([]bgp.Rule, error) {
	out := make([]bgp.Rule, 0, len(attrs))
	for i, at := range attrs {
		sel, err := convert(at.ServiceSelector, true)
		if err != nil {
			return nil, fmt.Errorf("%w: serviceAttributes[%d]: %v", bgp.ErrInvalidConfig, i, err)
		}
		r := bgp.Rule{Selector: sel}
		for _, c := range at.Communities {
			v, err := bgp.ParseCommunity(c)
			if err != nil {
				return nil, fmt.Errorf("%w: serviceAttributes[%d]: %v", bgp.ErrInvalidConfig, i, err)
			}
			r.Communities = append(r.Communities, v)
		}
		for _, c := range at.LargeCommunities {
			v, err := bgp.ParseLargeCommunity(c)
			if err != nil {
				return nil, fmt.Errorf("%w: serviceAttributes[%d]: %v", bgp.ErrInvalidConfig, i, err)
			}
			r.LargeCommunities = append(r.LargeCommunities, v)
		}
		for _, f := range []struct {
			v   *int64
			dst **uint32
		}{{at.LocalPreference, &r.LocalPref}, {at.MED, &r.MED}} {
			if f.v == nil {
				continue
			}
			if *f.v < 0 || *f.v > 1<<32-1 {
				return nil, fmt.Errorf("%w: serviceAttributes[%d]: %d out of range", bgp.ErrInvalidConfig, i, *f.v)
			}
			v := uint32(*f.v)
			*f.dst = &v
		}
		out = append(out, r)
	}
	return out, nil
}

// applyServices makes an announcer announce exactly want, given what it
// announces (have, updated in place), and returns what failed.
func applyServices(ctx context.Context, an announce.Announcer, have, want map[string]announce.Service) []error {
	var errs []error
	for key := range have {
		if _, ok := want[key]; ok {
			continue
		}
		if err := an.Withdraw(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("withdraw %s: %w", key, err))
			continue
		}
		delete(have, key)
	}
	for _, key := range sortedKeys(want) {
		s := want[key]
		if old, ok := have[key]; ok && sameService(old, s) {
			continue
		}
		if err := an.Announce(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("announce %s: %w", key, err))
			continue
		}
		have[key] = s
	}
	return errs
}

func sameService(a, b announce.Service) bool {
	return a.Key == b.Key && reflect.DeepEqual(a.Labels, b.Labels) && reflect.DeepEqual(a.Addrs, b.Addrs)
}
