package bgptest

import (
	"net/netip"
	"testing"

	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func u32(v uint32) *uint32 { return &v }

func path(attrs ...bgp.PathAttributeInterface) *apiutil.Path {
	return &apiutil.Path{Attrs: attrs}
}

func nlri(t *testing.T, p string) *bgp.IPAddrPrefix {
	n, err := bgp.NewIPAddrPrefix(netip.MustParsePrefix(p))
	require.NoError(t, err)
	return n
}

func nh(t *testing.T, a string) *bgp.PathAttributeNextHop {
	n, err := bgp.NewPathAttributeNextHop(netip.MustParseAddr(a))
	require.NoError(t, err)
	return n
}

func mpReach(t *testing.T, n *bgp.IPAddrPrefix, a string) *bgp.PathAttributeMpReachNLRI {
	m, err := bgp.NewPathAttributeMpReachNLRI(bgp.RF_IPv6_UC, []bgp.PathNLRI{{NLRI: n}}, netip.MustParseAddr(a))
	require.NoError(t, err)
	return m
}

func TestDecodeRoute(t *testing.T) {
	v6nlri := nlri(t, "2001:db8:dead:beef::111/128")
	asPath := bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{
		bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{65001, 4200000000}),
		bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SET, []uint32{65003, 65002}),
	})
	tests := []struct {
		name   string
		prefix string
		path   *apiutil.Path
		want   Route
		str    string
	}{
		{
			name:   "IPv4, every attribute",
			prefix: "172.18.255.201/32",
			path: path(
				bgp.NewPathAttributeOrigin(0),
				nh(t, "10.1.2.3"),
				asPath,
				bgp.NewPathAttributeCommunities([]uint32{65000<<16 | 100, 0xffffff01}),
				bgp.NewPathAttributeLargeCommunities([]*bgp.LargeCommunity{bgp.NewLargeCommunity(4200000000, 1, 2)}),
				bgp.NewPathAttributeMultiExitDisc(5),
				bgp.NewPathAttributeLocalPref(200)),
			want: Route{
				Prefix: netip.MustParsePrefix("172.18.255.201/32"), NextHop: netip.MustParseAddr("10.1.2.3"),
				Communities: []string{"65000:100", "65535:65281"}, LargeCommunities: []string{"4200000000:1:2"},
				MED: u32(5), LocalPref: u32(200), ASPath: []uint32{65001, 4200000000, 65003, 65002},
			},
			str: "172.18.255.201/32 via 10.1.2.3 as-path [65001 4200000000 65003 65002] communities [65000:100 65535:65281] " +
				"large-communities [4200000000:1:2] med 5 local-pref 200",
		},
		{
			name:   "IPv6",
			prefix: "2001:db8:dead:beef::111/128",
			path:   path(mpReach(t, v6nlri, "2001:db8::1")),
			want:   Route{Prefix: netip.MustParsePrefix("2001:db8:dead:beef::111/128"), NextHop: netip.MustParseAddr("2001:db8::1")},
			str:    "2001:db8:dead:beef::111/128 via 2001:db8::1 as-path []",
		},
		{
			name:   "IPv6 with an IPv4-mapped next hop, kept as received",
			prefix: "2001:db8:dead:beef::111/128",
			path:   path(mpReach(t, v6nlri, "::ffff:127.0.0.1")),
			want:   Route{Prefix: netip.MustParsePrefix("2001:db8:dead:beef::111/128"), NextHop: netip.MustParseAddr("::ffff:127.0.0.1")},
			str:    "2001:db8:dead:beef::111/128 via ::ffff:127.0.0.1 as-path []",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRoute(nlri(t, tt.prefix), tt.path)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.str, got.String())
		})
	}
}

func TestDecodeRouteErrors(t *testing.T) {
	labeled, err := bgp.NewLabeledIPAddrPrefix(netip.MustParsePrefix("10.0.0.0/8"), *bgp.NewMPLSLabelStack(1))
	require.NoError(t, err)
	_, err = decodeRoute(labeled, path())
	assert.Error(t, err, "not a unicast prefix")
}

func TestRouteStringStale(t *testing.T) {
	rt := Route{Prefix: netip.MustParsePrefix("10.0.0.0/8"), NextHop: netip.MustParseAddr("10.0.0.1"), ASPath: []uint32{1}, Stale: true}
	assert.Equal(t, "10.0.0.0/8 via 10.0.0.1 as-path [1] stale", rt.String())
}

func TestComparePrefix(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"10.0.0.0/8", "10.0.0.0/8", 0},
		{"10.0.0.0/8", "10.0.0.0/16", -1},
		{"10.0.0.0/16", "10.0.0.0/8", 1},
		{"10.0.0.0/8", "10.0.0.1/32", -1},
		{"10.0.0.0/8", "9.0.0.0/8", 1},
		{"255.0.0.0/8", "::/0", -1},
	}
	for _, tt := range tests {
		got := comparePrefix(netip.MustParsePrefix(tt.a), netip.MustParsePrefix(tt.b))
		assert.Equal(t, tt.want, max(-1, min(got, 1)), "%s vs %s", tt.a, tt.b)
	}
}
