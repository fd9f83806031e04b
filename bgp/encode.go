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

// nlriBytes returns the wire form of p as an NLRI (RFC 4271 4.3): the
// length in bits, then the significant bytes of the address.
func nlriBytes(p netip.Prefix) []byte {
	bits := p.Bits()
	a := p.Addr().AsSlice()
	return append([]byte{byte(bits)}, a[:(bits+7)/8]...)
}

// mpReachIPv6 returns the wire form of an MP_REACH_NLRI attribute (RFC
// 4760) for IPv6 unicast nlri with next hop ::.
func mpReachIPv6(nlri []byte) []byte {
	const head = 2 + 1 + 1 + 16 + 1 // AFI, SAFI, next-hop length, next hop, reserved
	b := make([]byte, 0, 3+head+len(nlri))
	b = append(b, byte(bgp.BGP_ATTR_FLAG_OPTIONAL), byte(bgp.BGP_ATTR_TYPE_MP_REACH_NLRI), byte(head+len(nlri)))
	b = append(b, 0, bgp.AFI_IP6, bgp.SAFI_UNICAST, 16)
	b = append(b, make([]byte, 16)...)
	b = append(b, 0)
	return append(b, nlri...)
}

// wire returns the serialized optional attributes of a, shared by every
// route of a service.
func (a attrs) wire() [][]byte {
	var out [][]byte
	if len(a.communities) > 0 {
		out = append(out, mustSerialize(bgp.NewPathAttributeCommunities(a.communities)))
	}
	if len(a.large) > 0 {
		lc := make([]*bgp.LargeCommunity, len(a.large))
		for i, c := range a.large {
			lc[i] = bgp.NewLargeCommunity(c.ASN, c.Local1, c.Local2)
		}
		out = append(out, mustSerialize(bgp.NewPathAttributeLargeCommunities(lc)))
	}
	if a.med != nil {
		out = append(out, mustSerialize(bgp.NewPathAttributeMultiExitDisc(*a.med)))
	}
	if a.localPref != nil {
		out = append(out, mustSerialize(bgp.NewPathAttributeLocalPref(*a.localPref)))
	}
	return out
}

// encodePath returns the GoBGP path announcing (or withdrawing) p with the
// optional attributes wire. The next hop is unspecified (0.0.0.0 or ::):
// GoBGP replaces it with the session's local address, and the export policy
// with a peer's explicit next hop. Paths travel in binary form, which spares
// GoBGP the protobuf Any encoding of every attribute.
func encodePath(p netip.Prefix, wire [][]byte, withdraw bool) *api.Path {
	nb := nlriBytes(p)
	pattrs := make([][]byte, 0, 2+len(wire))
	pattrs = append(pattrs, originIGP)
	if p.Addr().Is4() {
		pattrs = append(pattrs, nextHopV4)
	} else {
		pattrs = append(pattrs, mpReachIPv6(nb))
	}
	pattrs = append(pattrs, wire...)
	return &api.Path{
		Family:       apiFamily(p.Addr()),
		NlriBinary:   nb,
		PattrsBinary: pattrs,
		IsWithdraw:   withdraw,
	}
}
