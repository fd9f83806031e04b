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
//     A peer with a Selector (a tag in tags) gets only the routes that
//     carry its tag; the tags are removed from every route sent.
//
// peers == nil means no explicit next hops and no selective peers.
func (s *Speaker) applyPolicies(ctx context.Context, peers map[netip.Addr]Peer, tags map[netip.Addr]uint32) error {
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
	pol.Statements = append(pol.Statements, selectiveStatements(req, tags)...)
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

// tagsRegexp matches every tag (see tagASN).
const tagsRegexp = `^4294967295:[0-9]+:[0-9]+$`

// selectiveStatements returns the export statements of the selective
// peers, adding their defined sets to req: each such peer accepts the
// routes with its tag and rejects the rest; then every route loses its
// tags.
func selectiveStatements(req *api.SetPoliciesRequest, tags map[netip.Addr]uint32) []*api.Statement {
	if len(tags) == 0 {
		return nil
	}
	strip := &api.CommunityAction{Type: api.CommunityAction_TYPE_REMOVE, Communities: []string{tagsRegexp}}
	var out []*api.Statement
	for _, addr := range slices.SortedFunc(maps.Keys(tags), netip.Addr.Compare) {
		nset, tset := "lbkit-sel-peer-"+addr.String(), "lbkit-sel-tag-"+addr.String()
		req.DefinedSets = append(req.DefinedSets,
			&api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_NEIGHBOR, Name: nset, List: []string{netip.PrefixFrom(addr, addr.BitLen()).String()}},
			&api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: tset, List: []string{fmt.Sprintf("%d:%d:0", uint32(tagASN), tags[addr])}})
		out = append(out,
			&api.Statement{
				Name: "lbkit-sel-accept-" + addr.String(),
				Conditions: &api.Conditions{
					NeighborSet:       &api.MatchSet{Name: nset, Type: api.MatchSet_TYPE_ANY},
					LargeCommunitySet: &api.MatchSet{Name: tset, Type: api.MatchSet_TYPE_ANY},
				},
				Actions: &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT, LargeCommunity: strip},
			},
			&api.Statement{
				Name:       "lbkit-sel-reject-" + addr.String(),
				Conditions: &api.Conditions{NeighborSet: &api.MatchSet{Name: nset, Type: api.MatchSet_TYPE_ANY}},
				Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_REJECT},
			})
	}
	return append(out, &api.Statement{
		Name:    "lbkit-strip-tags",
		Actions: &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT, LargeCommunity: strip},
	})
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
