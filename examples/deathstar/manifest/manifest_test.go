package manifest

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

func TestLoad(t *testing.T) {
	cfg, err := Load("../manifests")
	require.NoError(t, err)

	assert.Equal(t, "empire-ip-pool", cfg.Pool.Name)
	assert.Equal(t, []ipam.Range{
		ipam.PrefixRange(netip.MustParsePrefix("172.18.255.200/29")),
		ipam.PrefixRange(netip.MustParsePrefix("2001:db8:dead:beef::/64")),
	}, cfg.Pool.Ranges)
	assert.True(t, cfg.Pool.ServiceSelector.Equal(selector.MustParse("org=empire")), "pool selector %v", cfg.Pool.ServiceSelector)
	assert.False(t, cfg.Pool.AllowFirstLast)

	assert.Equal(t, "empire-bgp", cfg.BGP.Name)
	assert.Equal(t, uint32(65001), cfg.BGP.ASN)
	assert.Equal(t, netip.MustParseAddr("10.255.0.2"), cfg.BGP.RouterID)
	assert.True(t, cfg.BGP.Selector.Equal(selector.MustParse("announced=bgp")), "bgp selector %v", cfg.BGP.Selector)
	assert.Equal(t, []bgp.Peer{{
		Address: netip.MustParseAddr("2001:db8:4e::1"), ASN: 65000,
		ConnectRetry: time.Second, HoldTime: 9 * time.Second, KeepaliveTime: 3 * time.Second,
		Families: []bgp.Family{bgp.IPv6Unicast},
	}}, cfg.BGP.Peers)

	assert.Equal(t, "empire-l2", cfg.L2.Name)
	assert.True(t, cfg.L2.Selector.Equal(selector.MustParse("org=empire")), "l2 selector %v", cfg.L2.Selector)
	assert.True(t, cfg.L2.Selects("seg0"))
	assert.True(t, cfg.L2.Selects("seg12"))
	assert.False(t, cfg.L2.Selects("eth0"))
	assert.False(t, cfg.L2.Selects("xseg0"))
}

// TestManifestDefaults checks the Cilium defaults of omitted fields.
func TestManifestDefaults(t *testing.T) {
	dir := copyManifests(t)
	edit(t, dir, PoolFile, "  serviceSelector:\n    matchLabels:\n      org: empire\n", "")
	edit(t, dir, PoolFile, "  - cidr: 2001:db8:dead:beef::/64\n", "  - start: 2001:db8::5\n    stop: 2001:db8::9\n  - start: 10.1.0.1\n")
	edit(t, dir, BGPFile, "    serviceSelector:\n      matchLabels:\n        announced: bgp\n", "")
	edit(t, dir, L2File, "  serviceSelector:\n    matchLabels:\n      org: empire\n", "")
	cfg, err := Load(dir)
	require.NoError(t, err)
	assert.True(t, cfg.Pool.ServiceSelector.IsEverything(), "a pool without selector serves every service")
	assert.Equal(t, []string{"172.18.255.200/29", "2001:db8::5-2001:db8::9", "10.1.0.1"}, rangeStrings(cfg.Pool.Ranges))
	assert.True(t, cfg.BGP.Selector.IsNothing(), "a peering policy without selector announces no service")
	assert.True(t, cfg.L2.Selector.IsEverything(), "an L2 policy without selector selects every service")
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		old, new  string // edit of the good manifest
		wantField string // "" when the error is about the whole file
		wantText  string
	}{
		{"unknown field", PoolFile, "  blocks:", "  blokcs:", "spec.blokcs", "unknown field"},
		{"unknown nested field", PoolFile, "- cidr: 172.18.255.200/29", "- cidrr: 172.18.255.200/29", "spec.blocks[0].cidrr", "unknown field"},
		{"unknown selector field", BGPFile, "      matchLabels:", "      matchLabel:", "spec.virtualRouters[0].serviceSelector.matchLabel", "unknown field"},
		{"duplicate field", PoolFile, "  blocks:", "  disabled: false\n  disabled: true\n  blocks:", "", `key "disabled" already set`},
		{"case differs", PoolFile, "  blocks:", "  Blocks:", "spec.Blocks", "unknown field"},
		{"yaml syntax", PoolFile, "  blocks:", "  blocks: [", "", "yaml"},
		{"wrong kind", PoolFile, "kind: CiliumLoadBalancerIPPool", "kind: IPPool", "kind", `"IPPool"`},
		{"no name", PoolFile, "  name: empire-ip-pool", "  name: ''", "metadata.name", "missing"},
		{"no blocks", PoolFile, "  - cidr: 172.18.255.200/29\n  - cidr: 2001:db8:dead:beef::/64\n", "", "spec.blocks", "no blocks"},
		{"bad cidr", PoolFile, "cidr: 2001:db8:dead:beef::/64", "cidr: 2001:db8:dead:beef::/640", "spec.blocks[1].cidr", "640"},
		{"host bits", PoolFile, "cidr: 172.18.255.200/29", "cidr: 172.18.255.201/29", "spec.blocks[0].cidr", "host bits"},
		{"cidr and start", PoolFile, "- cidr: 172.18.255.200/29", "- {cidr: 172.18.255.200/29, start: 10.0.0.1}", "spec.blocks[0]", "both"},
		{"empty block", PoolFile, "- cidr: 172.18.255.200/29", "- {}", "spec.blocks[0]", "needs a cidr"},
		{"bad start", PoolFile, "- cidr: 172.18.255.200/29", "- {start: 10.0.0.x, stop: 10.0.0.9}", "spec.blocks[0].start", "10.0.0.x"},
		{"bad stop", PoolFile, "- cidr: 172.18.255.200/29", "- {start: 10.0.0.1, stop: nope}", "spec.blocks[0].stop", "nope"},
		{"start after stop", PoolFile, "- cidr: 172.18.255.200/29", "- {start: 10.0.0.9, stop: 10.0.0.1}", "spec.blocks[0].stop", ""},
		{"mixed families", PoolFile, "- cidr: 172.18.255.200/29", "- {start: 10.0.0.1, stop: '2001:db8::1'}", "spec.blocks[0].stop", ""},
		{"first last", PoolFile, "  blocks:", "  allowFirstLastIPs: Maybe\n  blocks:", "spec.allowFirstLastIPs", "Maybe"},
		{"pool selector key", PoolFile, "      org: empire", "      -org: empire", `spec.serviceSelector.matchLabels["-org"]`, ""},
		{"two routers", BGPFile, "  virtualRouters:\n", "  virtualRouters:\n  - {localASN: 1, routerID: 10.0.0.1, neighbors: []}\n", "spec.virtualRouters", "2 entries"},
		{"asn", BGPFile, "localASN: 65001", "localASN: 0", "spec.virtualRouters[0].localASN", ""},
		{"asn range", BGPFile, "localASN: 65001", "localASN: 4294967296", "", "localASN"},
		{"router id", BGPFile, "routerID: 10.255.0.2", "routerID: '2001:db8::2'", "spec.virtualRouters[0].routerID", "IPv4"},
		{"bgp selector", BGPFile, "      matchLabels:\n        announced: bgp", "      matchExpressions:\n      - {key: announced, operator: Like}",
			"spec.virtualRouters[0].serviceSelector.matchExpressions[0]", "Like"},
		{"no neighbors", BGPFile, "    neighbors:\n    - peerAddress: 2001:db8:4e::1/128\n      peerASN: 65000\n      connectRetryTimeSeconds: 1\n      holdTimeSeconds: 9\n      keepAliveTimeSeconds: 3\n      families:\n      - afi: ipv6\n        safi: unicast\n",
			"    neighbors: []\n", "spec.virtualRouters[0].neighbors", "no neighbors"},
		{"peer address", BGPFile, "peerAddress: 2001:db8:4e::1/128", "peerAddress: 2001:db8:4e::1/64", "spec.virtualRouters[0].neighbors[0].peerAddress", "host prefix"},
		{"peer asn", BGPFile, "      peerASN: 65000\n", "", "spec.virtualRouters[0].neighbors[0].peerASN", "missing"},
		{"hold time", BGPFile, "holdTimeSeconds: 9", "holdTimeSeconds: -9", "spec.virtualRouters[0].neighbors[0].holdTimeSeconds", "negative"},
		{"family", BGPFile, "afi: ipv6", "afi: ipx", "spec.virtualRouters[0].neighbors[0].families[0]", "ipx"},
		{"l2 regexp", L2File, "  - ^seg[0-9]+$", "  - ^seg[0-9+$", "spec.interfaces[0]", "missing closing ]"},
		{"l2 interfaces", L2File, "  interfaces:\n  - ^seg[0-9]+$\n", "", "spec.interfaces", "no interfaces"},
		{"l2 lb ips", L2File, "loadBalancerIPs: true", "loadBalancerIPs: false", "spec.loadBalancerIPs", "must be true"},
		{"l2 selector value", L2File, "org: empire", "org: '-empire-'", `spec.serviceSelector.matchLabels["org"]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyManifests(t)
			edit(t, dir, tt.file, tt.old, tt.new)
			_, err := Load(dir)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			var me *Error
			require.ErrorAs(t, err, &me)
			assert.Equal(t, filepath.Join(dir, tt.file), me.File)
			assert.Equal(t, tt.wantField, me.Field)
			assert.Contains(t, err.Error(), filepath.Join(dir, tt.file))
			assert.Contains(t, err.Error(), tt.wantField)
			assert.Contains(t, err.Error(), tt.wantText)
		})
	}
}

// TestErrorWrapsSentinels checks that the causes stay testable.
func TestErrorWrapsSentinels(t *testing.T) {
	dir := copyManifests(t)
	edit(t, dir, PoolFile, "      org: empire", "      -org: empire")
	_, err := Load(dir)
	assert.ErrorIs(t, err, selector.ErrInvalidKey)

	dir = copyManifests(t)
	edit(t, dir, PoolFile, "- cidr: 172.18.255.200/29", "- {start: 10.0.0.9, stop: 10.0.0.1}")
	_, err = Load(dir)
	assert.ErrorIs(t, err, ipam.ErrInvalidRange)

	dir = copyManifests(t)
	require.NoError(t, os.Remove(filepath.Join(dir, L2File)))
	_, err = Load(dir)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), L2File)
}

func copyManifests(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{PoolFile, BGPFile, L2File} {
		b, err := os.ReadFile(filepath.Join("../manifests", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	return dir
}

// edit replaces old by new in dir/file; old must occur.
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Contains(t, string(b), old, "edit of %s", file)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

func rangeStrings(rs []ipam.Range) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}
