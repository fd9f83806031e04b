package bgp

import (
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

var (
	familyV4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyV6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}

	// Attributes every route carries, serialized once.
	originIGP = mustSerialize(bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP))
	nextHopV4 = mustSerialize(bgp.NewPathAttributeNextHop("0.0.0.0"))
)

func apiFamily(a netip.Addr) *api.Family {
	if a.Is4() {
		return familyV4
	}
	return familyV6
}

func mustSerialize(a bgp.PathAttributeInterface) []byte {
	b, err := a.Serialize()
	if err != nil {
		panic(err) // constant input
	}
	return b
}

// nlri returns GoBGP's form of p.
func nlri(p netip.Prefix) bgp.AddrPrefixInterface {
	if p.Addr().Is4() {
		return bgp.NewIPAddrPrefix(uint8(p.Bits()), p.Addr().String())
	}
	return bgp.NewIPv6AddrPrefix(uint8(p.Bits()), p.Addr().String())
}

// encodePath returns the GoBGP path announcing (or withdrawing) p with a.
// The next hop is unspecified (0.0.0.0 or ::): GoBGP replaces it with the
// session's local address, and the export policy with a peer's explicit
// next hop. Paths travel in binary form, which spares GoBGP the protobuf
// Any encoding of every attribute.
func encodePath(p netip.Prefix, a attrs, withdraw bool) *api.Path {
	n := nlri(p)
	nb, err := n.Serialize()
	if err != nil {
		panic(err) // a valid prefix always serializes
	}
	pattrs := make([][]byte, 0, 6)
	pattrs = append(pattrs, originIGP)
	if p.Addr().Is4() {
		pattrs = append(pattrs, nextHopV4)
	} else {
		pattrs = append(pattrs, mustSerialize(bgp.NewPathAttributeMpReachNLRI("::", []bgp.AddrPrefixInterface{n})))
	}
	if len(a.communities) > 0 {
		pattrs = append(pattrs, mustSerialize(bgp.NewPathAttributeCommunities(a.communities)))
	}
	if len(a.large) > 0 {
		lc := make([]*bgp.LargeCommunity, len(a.large))
		for i, c := range a.large {
			lc[i] = bgp.NewLargeCommunity(c.ASN, c.Local1, c.Local2)
		}
		pattrs = append(pattrs, mustSerialize(bgp.NewPathAttributeLargeCommunities(lc)))
	}
	if a.med != nil {
		pattrs = append(pattrs, mustSerialize(bgp.NewPathAttributeMultiExitDisc(*a.med)))
	}
	if a.localPref != nil {
		pattrs = append(pattrs, mustSerialize(bgp.NewPathAttributeLocalPref(*a.localPref)))
	}
	return &api.Path{
		Family:       apiFamily(p.Addr()),
		NlriBinary:   nb,
		PattrsBinary: pattrs,
		IsWithdraw:   withdraw,
	}
}
