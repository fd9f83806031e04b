package bird_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lbkit/lbkit/internal/bird"
)

// A router configuration as the BGP interop tests and the deathstar lab
// write it: one IPv6 session to the node, routes exported to the kernel.
func ExampleConfig_Render() {
	cfg := bird.Config{
		RouterID: netip.MustParseAddr("10.255.0.1"),
		ASN:      65000,
		Kernel:   true,
		Neighbors: []bird.Neighbor{{
			Name:    "node6",
			Address: netip.MustParseAddr("2001:db8:4e::2"),
			ASN:     65001,
		}},
	}
	conf := cfg.Render()
	for _, want := range []string{"router id 10.255.0.1;", "protocol bgp node6", "neighbor 2001:db8:4e::2 as 65001;", "protocol kernel"} {
		fmt.Printf("%s: %v\n", want, strings.Contains(conf, want))
	}
	// Output:
	// router id 10.255.0.1;: true
	// protocol bgp node6: true
	// neighbor 2001:db8:4e::2 as 65001;: true
	// protocol kernel: true
}

// Parsing `birdc show route all` output into routes.
func ExampleParseRoutes() {
	out := `Table master6:
2001:db8:dead:beef::1/128 unicast [node6 12:00:00.000] * (100) [AS65001i]
	via 2001:db8:4e::2 on down0
	Type: BGP univ
	BGP.origin: IGP
	BGP.as_path: 65001
	BGP.next_hop: 2001:db8:4e::2
	BGP.local_pref: 100
	BGP.community: (65000,100)
`
	routes, err := bird.ParseRoutes(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range routes {
		fmt.Println(r.Prefix, r.Gateway, r.ASPath, r.Communities)
	}
	// Output:
	// 2001:db8:dead:beef::1/128 2001:db8:4e::2 65001 [65000:100]
}
