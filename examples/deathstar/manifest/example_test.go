package manifest_test

import (
	"fmt"

	"github.com/lbkit/lbkit/examples/deathstar/manifest"
)

// The manifests convert into lbkit values.
func ExampleLoad() {
	cfg, err := manifest.Load("../manifests")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Pool.Name, cfg.Pool.Ranges, cfg.Pool.ServiceSelector)
	fmt.Println(cfg.BGP.ASN, cfg.BGP.Selector, cfg.BGP.Peers[0].Address, cfg.BGP.Peers[0].ASN)
	fmt.Println(cfg.L2.Selector, cfg.L2.Interfaces)
	// Output:
	// empire-ip-pool [172.18.255.200/29 2001:db8:dead:beef::/64] org=empire
	// 65001 announced=bgp 2001:db8:4e::1 65000
	// org=empire [^seg[0-9]+$]
}
