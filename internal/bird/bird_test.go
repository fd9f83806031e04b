package bird

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/internal/netns"
)

func TestRender(t *testing.T) {
	c := Config{
		RouterID: netip.MustParseAddr("10.213.0.1"), ASN: 65000, Kernel: true,
		Neighbors: []Neighbor{{
			Name: "node4", Address: netip.MustParseAddr("10.213.0.2"), ASN: 65001, Port: 1790,
			Password: "s3cret", Passive: true, IPv4: true, IPv6: true, GracefulRestart: true, Multihop: 2,
			Local: netip.MustParseAddr("10.213.0.1"), HoldTime: 9,
		}},
		Extra: "# extra\n",
	}
	got := c.Render()
	for _, want := range []string{
		"router id 10.213.0.1;",
		"protocol kernel kernel6 { ipv6 { export all; }; }",
		"protocol bgp node4 {",
		"neighbor 10.213.0.2 port 1790 as 65001;",
		"local as 65000;",
		"source address 10.213.0.1;",
		`password "s3cret";`,
		"multihop 2;", "passive on;", "graceful restart on;", "hold time 9;", "connect retry time 1;",
		"ipv4 { import all; export none; };",
		"ipv6 { import all; export none; };",
		"# extra",
	} {
		assert.Contains(t, got, want)
	}
	one := Config{Neighbors: []Neighbor{{Name: "n6", Address: netip.MustParseAddr("2001:db8::2"), ASN: 1}}}.Render()
	assert.Contains(t, one, "ipv6 {")
	assert.NotContains(t, one, "ipv4 {")
	assert.NotContains(t, one, "kernel")
	all := Config{Neighbors: []Neighbor{{Name: "n", Address: netip.MustParseAddr("10.0.0.1"), ASN: 1, ExportAll: true}}}.Render()
	assert.Contains(t, all, "ipv4 { import all; export all; };")
}

func TestParseProtocols(t *testing.T) {
	out := `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     2026-11-26 13:00:00.123  
node4      BGP        ---        up     2026-11-26 13:00:01.456  Established   
node6      BGP        ---        start  2026-11-26 13:00:01.456  Active        Socket: Connection refused
`
	ps := ParseProtocols(out)
	require.Len(t, ps, 3)
	assert.Equal(t, Protocol{Name: "node4", Proto: "BGP", Table: "---", State: "up", Info: "Established"}, ps[1])
	assert.True(t, ps[1].Established())
	assert.False(t, ps[2].Established())
	assert.Equal(t, "Active Socket: Connection refused", ps[2].Info)
}

func TestParseRoutes(t *testing.T) {
	out, err := os.ReadFile("testdata/show-route-all.txt")
	require.NoError(t, err)
	rs, err := ParseRoutes(string(out))
	require.NoError(t, err)
	require.Len(t, rs, 3)

	v4 := rs[0]
	assert.Equal(t, "master4", v4.Table)
	assert.Equal(t, netip.MustParsePrefix("172.18.255.201/32"), v4.Prefix)
	assert.Equal(t, "node4", v4.Protocol)
	assert.True(t, v4.Primary)
	assert.Equal(t, netip.MustParseAddr("10.213.0.2"), v4.Gateway)
	assert.Equal(t, "eth0", v4.Interface)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.213.0.2")}, v4.NextHops)
	assert.Equal(t, "65001", v4.ASPath)
	assert.Equal(t, []string{"65000:100", "65000:200"}, v4.Communities)
	assert.Equal(t, []string{"65000:1:1"}, v4.LargeCommunities)
	require.NotNil(t, v4.LocalPref)
	assert.Equal(t, uint32(100), *v4.LocalPref)
	require.NotNil(t, v4.MED)
	assert.Equal(t, uint32(5), *v4.MED)

	assert.False(t, rs[1].Primary, "second route for the same prefix")
	assert.Equal(t, v4.Prefix, rs[1].Prefix)
	assert.Equal(t, "node4b", rs[1].Protocol)

	v6 := rs[2]
	assert.Equal(t, "master6", v6.Table)
	assert.Equal(t, netip.MustParsePrefix("2001:db8:dead:beef::111/128"), v6.Prefix)
	assert.Equal(t, netip.MustParseAddr("2001:db8:213::2"), v6.Gateway)
	assert.Len(t, v6.NextHops, 2, "global and link-local next hop")
	assert.True(t, strings.HasPrefix(v6.String(), "2001:db8:dead:beef::111/128 via 2001:db8:213::2"))

	_, err = ParseRoutes("Table master4:\nnot-a-prefix unicast\n")
	assert.Error(t, err)
}

// TestTwoRouters runs two BIRDs in two namespaces that peer with each
// other, restarts one and waits for the session to come back.
func TestTwoRouters(t *testing.T) {
	RequireT(t)
	a, b := netns.NewT(t, "lbkbra"), netns.NewT(t, "lbkbrb")
	netns.VethT(t, a, "eth0", b, "eth0")
	require.NoError(t, a.Addr("eth0", "10.214.0.1/30"))
	require.NoError(t, b.Addr("eth0", "10.214.0.2/30"))
	ra := StartT(t, a, Config{RouterID: netip.MustParseAddr("10.214.0.1"), ASN: 65000, Neighbors: []Neighbor{
		{Name: "b", Address: netip.MustParseAddr("10.214.0.2"), ASN: 65001, Password: "pw"},
	}})
	rb := StartT(t, b, Config{RouterID: netip.MustParseAddr("10.214.0.2"), ASN: 65001, Neighbors: []Neighbor{
		{Name: "a", Address: netip.MustParseAddr("10.214.0.1"), ASN: 65000, Password: "pw"},
	}})
	ra.WaitEstablishedT(t, "b")
	rb.WaitEstablishedT(t, "a")
	ps, err := ra.Protocols()
	require.NoError(t, err)
	assert.Equal(t, "device1", ps[0].Name)

	require.NoError(t, rb.Restart())
	rb.WaitEstablishedT(t, "a")

	cfg := rb.Config()
	cfg.Neighbors[0].Password = "wrong"
	require.NoError(t, rb.Reconfigure(cfg))
	out, err := rb.Command("show", "protocols", "all", "a")
	require.NoError(t, err)
	assert.Contains(t, out, "a ")
	rb.Stop()
	rb.Stop()
	_, err = rb.Protocols()
	assert.Error(t, err, "stopped")
}
