package bgp

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	api "github.com/osrg/gobgp/v4/api"
)

// Policy names. The speaker owns GoBGP's whole policy configuration.
const (
	policyNextHop = "lbkit-next-hops"
	policyImport  = "lbkit-local-only"
	setAnyIPv4    = "lbkit-any-ipv4"
	setAnyIPv6    = "lbkit-any-ipv6"
)

// applyPolicies installs GoBGP's routing policy for peers:
//   - import: accept locally originated routes (GoBGP's import policy sees
//     them too) and reject the rest. The speaker never forwards what it
//     learns, so received routes only count.
//   - export: accept, after setting the explicit next hops of peers that
//     have them (one statement per peer and family, matched by neighbor).
//
// peers == nil means no explicit next hops.
func (s *Speaker) applyPolicies(ctx context.Context, peers map[netip.Addr]Peer) error {
	req := &api.SetPoliciesRequest{
		DefinedSets: []*api.DefinedSet{
			{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: setAnyIPv4, Prefixes: []*api.Prefix{{IpPrefix: "0.0.0.0/0", MaskLengthMin: 0, MaskLengthMax: 32}}},
			{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: setAnyIPv6, Prefixes: []*api.Prefix{{IpPrefix: "::/0", MaskLengthMin: 0, MaskLengthMax: 128}}},
		},
	}
	pol := &api.Policy{Name: policyNextHop}
	for _, addr := range slices.SortedFunc(maps.Keys(peers), netip.Addr.Compare) {
		p := peers[addr]
		if !p.hasNextHops() {
			continue
		}
		nset := "lbkit-peer-" + addr.String()
		req.DefinedSets = append(req.DefinedSets, &api.DefinedSet{
			DefinedType: api.DefinedType_DEFINED_TYPE_NEIGHBOR, Name: nset, List: []string{netip.PrefixFrom(addr, addr.BitLen()).String()},
		})
		for _, nh := range []struct {
			addr netip.Addr
			set  string
		}{{p.NextHopIPv4, setAnyIPv4}, {p.NextHopIPv6, setAnyIPv6}} {
			if !nh.addr.IsValid() {
				continue
			}
			pol.Statements = append(pol.Statements, &api.Statement{
				Name: fmt.Sprintf("lbkit-nh-%v-%v", addr, nh.addr),
				Conditions: &api.Conditions{
					NeighborSet: &api.MatchSet{Name: nset, Type: api.MatchSet_TYPE_ANY},
					PrefixSet:   &api.MatchSet{Name: nh.set, Type: api.MatchSet_TYPE_ANY},
				},
				Actions: &api.Actions{Nexthop: &api.NexthopAction{Address: nh.addr.String()}},
			})
		}
	}
	req.Policies = []*api.Policy{pol, {Name: policyImport, Statements: []*api.Statement{{
		Name:       "lbkit-accept-local",
		Conditions: &api.Conditions{RouteType: api.Conditions_ROUTE_TYPE_LOCAL},
		Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
	}}}}
	if err := s.srv.SetPolicies(ctx, req); err != nil {
		return fmt.Errorf("bgp: set policies: %w", err)
	}
	return nil
}

// assignPolicies assigns the policies of applyPolicies, once at start
// (SetPolicies keeps assignments).
func (s *Speaker) assignPolicies(ctx context.Context) error {
	for _, a := range []*api.PolicyAssignment{
		{Name: "global", Direction: api.PolicyDirection_POLICY_DIRECTION_IMPORT, DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT, Policies: []*api.Policy{{Name: policyImport}}},
		{Name: "global", Direction: api.PolicyDirection_POLICY_DIRECTION_EXPORT, DefaultAction: api.RouteAction_ROUTE_ACTION_ACCEPT, Policies: []*api.Policy{{Name: policyNextHop}}},
	} {
		if err := s.srv.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: a}); err != nil {
			return fmt.Errorf("bgp: assign policies: %w", err)
		}
	}
	return nil
}
