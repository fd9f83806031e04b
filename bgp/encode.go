package bgp

import (
	"net/netip"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// Attributes every route carries, built once. GoBGP copies a path's
// attribute list and never modifies the attributes, so routes share them.
var (
	originIGP = bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)
	nextHopV4 = must(bgp.NewPathAttributeNextHop(netip.IPv4Unspecified()))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err) // constant input
	}
	return v
}

func bgpFamily(a netip.Addr) bgp.Family {
	if a.Is4() {
		return bgp.RF_IPv4_UC
	}
	return bgp.RF_IPv6_UC
}

// native returns GoBGP's form of the optional attributes of a, shared by
// every route of a service.
func (a attrs) native() []bgp.PathAttributeInterface {
	var out []bgp.PathAttributeInterface
	if len(a.communities) > 0 {
		cs := make([]uint32, len(a.communities))
		for i, c := range a.communities {
			cs[i] = uint32(c)
		}
		out = append(out, bgp.NewPathAttributeCommunities(cs))
	}
	if len(a.large) > 0 {
		lc := make([]*bgp.LargeCommunity, len(a.large))
		for i, c := range a.large {
			lc[i] = bgp.NewLargeCommunity(c.ASN, c.Local1, c.Local2)
		}
		out = append(out, bgp.NewPathAttributeLargeCommunities(lc))
	}
	if a.med != nil {
		out = append(out, bgp.NewPathAttributeMultiExitDisc(*a.med))
	}
	if a.localPref != nil {
		out = append(out, bgp.NewPathAttributeLocalPref(*a.localPref))
	}
	return out
}

// encodePath returns the GoBGP path announcing (or withdrawing) p with the
// optional attributes opt. The next hop is unspecified (0.0.0.0 or ::):
// GoBGP replaces it with the session's local address, and the export policy
// with a peer's explicit next hop.
func encodePath(p netip.Prefix, opt []bgp.PathAttributeInterface, withdraw bool) *apiutil.Path {
	nlri := must(bgp.NewIPAddrPrefix(p))
	fam := bgpFamily(p.Addr())
	attrs := make([]bgp.PathAttributeInterface, 0, 2+len(opt))
	attrs = append(attrs, originIGP)
	if fam == bgp.RF_IPv4_UC {
		attrs = append(attrs, nextHopV4)
	} else {
		attrs = append(attrs, must(bgp.NewPathAttributeMpReachNLRI(fam, []bgp.PathNLRI{{NLRI: nlri}}, netip.IPv6Unspecified())))
	}
	attrs = append(attrs, opt...)
	return &apiutil.Path{Family: fam, Nlri: nlri, Attrs: attrs, Withdrawal: withdraw}
}
