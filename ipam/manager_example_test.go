package ipam_test

import (
	"errors"
	"fmt"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// The reference scenario: a dual-stack pool selecting org=empire gives
// batuu/deathstar one IPv4 and one IPv6 address; a service without the
// label gets nothing.
func ExampleManager() {
	m := ipam.NewManager()
	err := m.SetPool(ipam.Pool{
		Name: "empire-ip-pool",
		Ranges: []ipam.Range{
			ipam.MustParseRange("172.18.255.200/29"),
			ipam.MustParseRange("2001:db8:dead:beef::/64"),
		},
		ServiceSelector: selector.MustParse("org=empire"),
	})
	if err != nil {
		panic(err)
	}
	a, err := m.Assign(ipam.Request{Key: "batuu/deathstar", Labels: selector.Set{"org": "empire"}})
	fmt.Println(a.Pool, a.Addrs, err)
	_, err = m.Assign(ipam.Request{Key: "batuu/xwing", Labels: selector.Set{"org": "alliance"}})
	fmt.Println(errors.Is(err, ipam.ErrNoPool), err)
	// Output:
	// empire-ip-pool [172.18.255.201 2001:db8:dead:beef::1] <nil>
	// true ipam: service "batuu/xwing": no enabled pool selects the service: ipam: no pool
}
