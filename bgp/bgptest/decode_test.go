package bgptest

import (
	"net/netip"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func u32(v uint32) *uint32 { return &v }

func path(t *testing.T, nlri bgp.AddrPrefixInterface, attrs ...bgp.PathAttributeInterface) *api.Path {
	t.Helper()
	p, err := apiutil.NewPath(nlri, false, attrs, time.Now())
	require.NoError(t, err)
	return p
}

func TestDecodeRoute(t *testing.T) {
	v6nlri := bgp.NewIPv6AddrPrefix(128, "2001:db8:dead:beef::111")
	asPath := bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{
		bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{65001, 4200000000}),
		bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SET, []uint32{65003, 65002}),
	})
	tests := []struct {
		name   string
		prefix string
		path   *api.Path
		want   Route
		str    string
	}{
		{
			name:   "IPv4, every attribute",
			prefix: "172.18.255.201/32",
			path: path(t, bgp.NewIPAddrPrefix(32, "172.18.255.201"),
				bgp.NewPathAttributeOrigin(0),
				bgp.NewPathAttributeNextHop("10.1.2.3"),
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
			path:   path(t, v6nlri, bgp.NewPathAttributeMpReachNLRI("2001:db8::1", []bgp.AddrPrefixInterface{v6nlri})),
			want:   Route{Prefix: netip.MustParsePrefix("2001:db8:dead:beef::111/128"), NextHop: netip.MustParseAddr("2001:db8::1")},
			str:    "2001:db8:dead:beef::111/128 via 2001:db8::1 as-path []",
		},
		{
			name:   "IPv6 with an IPv4-mapped next hop, kept as received",
			prefix: "2001:db8:dead:beef::111/128",
			path:   path(t, v6nlri, bgp.NewPathAttributeMpReachNLRI("::ffff:127.0.0.1", []bgp.AddrPrefixInterface{v6nlri})),
			want:   Route{Prefix: netip.MustParsePrefix("2001:db8:dead:beef::111/128"), NextHop: netip.MustParseAddr("::ffff:127.0.0.1")},
			str:    "2001:db8:dead:beef::111/128 via ::ffff:127.0.0.1 as-path []",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRoute(tt.prefix, tt.path)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.str, got.String())
		})
	}
}

func TestDecodeRouteErrors(t *testing.T) {
	p := path(t, bgp.NewIPAddrPrefix(32, "172.18.255.201"), bgp.NewPathAttributeNextHop("10.1.2.3"))
	_, err := decodeRoute("not a prefix", p)
	assert.Error(t, err)
	p.Pattrs = append(p.Pattrs, nil)
	_, err = decodeRoute("172.18.255.201/32", p)
	assert.Error(t, err, "an undecodable attribute")
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
