package ipam_test

import (
	"errors"
	"fmt"
	"net/netip"

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
	// true ipam: service "batuu/xwing": no enabled pool selects the service: no pool
}

// Services with the same sharing key share an address when their ports do
// not collide.
func ExampleManager_sharing() {
	m := ipam.NewManager()
	_ = m.SetPool(ipam.Pool{Name: "lb", Ranges: []ipam.Range{ipam.MustParseRange("10.0.0.10-10.0.0.19")}})
	dns := func(key string, proto ipam.Protocol) ipam.Request {
		return ipam.Request{Key: key, Families: ipam.SingleStackIPv4, SharingKey: "dns",
			Ports: []ipam.Port{{Protocol: proto, Port: 53}}}
	}
	tcp, _ := m.Assign(dns("kube-system/dns-tcp", ipam.TCP))
	udp, _ := m.Assign(dns("kube-system/dns-udp", ipam.UDP))
	again, _ := m.Assign(dns("kube-system/dns-tcp2", ipam.TCP))
	fmt.Println(tcp.Addrs, udp.Addrs, again.Addrs)
	// Output:
	// [10.0.0.10] [10.0.0.10] [10.0.0.11]
}

// A pool overlapping one in use loses only its overlapping range; the
// conflict clears when the other pool goes.
func ExampleManager_Pools() {
	m := ipam.NewManager()
	_ = m.SetPool(ipam.Pool{Name: "old", Ranges: []ipam.Range{ipam.MustParseRange("10.0.0.0/24")}})
	_ = m.SetPool(ipam.Pool{Name: "new", Ranges: []ipam.Range{
		ipam.MustParseRange("10.0.0.128/25"), ipam.MustParseRange("10.0.1.0/24")}})
	show := func() {
		for _, s := range m.Pools() {
			fmt.Printf("%s: in use %v, free %v, conflicts %v\n", s.Name, s.Active, s.Free(ipam.IPv4), s.Conflicts)
		}
	}
	show()
	_ = m.DeletePool("old")
	show()
	// Output:
	// new: in use [10.0.1.0/24], free 254, conflicts [10.0.0.128/25 overlaps 10.0.0.0/24 of pool "old"]
	// old: in use [10.0.0.0/24], free 254, conflicts []
	// new: in use [10.0.0.128/25 10.0.1.0/24], free 380, conflicts []
}

// A changed service is moved, and the result says why; one that no pool
// can serve any more loses its addresses.
func ExampleManager_Assign() {
	m := ipam.NewManager()
	_ = m.SetPool(ipam.Pool{Name: "web", Priority: 1, ServiceSelector: selector.MustParse("tier=web"),
		Ranges: []ipam.Range{ipam.MustParseRange("10.0.0.0/24")}})
	_ = m.SetPool(ipam.Pool{Name: "batch", ServiceSelector: selector.MustParse("tier=batch"),
		Ranges: []ipam.Range{ipam.MustParseRange("10.1.0.0/24")}})

	a, _ := m.Assign(ipam.Request{Key: "shop/front", Labels: selector.Set{"tier": "web"}})
	fmt.Println(a.Reason, a.Pool, a.Addrs)
	a, _ = m.Assign(ipam.Request{Key: "shop/front", Labels: selector.Set{"tier": "web"}})
	fmt.Println(a.Reason, a.Addrs)
	a, _ = m.Assign(ipam.Request{Key: "shop/front", Labels: selector.Set{"tier": "batch"}})
	fmt.Printf("%v: %v → %s %v\n", a.Reason, a.Previous.Addrs, a.Pool, a.Addrs)
	a, err := m.Assign(ipam.Request{Key: "shop/front", Labels: selector.Set{"tier": "none"}})
	fmt.Println(a.Reason, a.Previous.Addrs, errors.Is(err, ipam.ErrNoPool))
	// Output:
	// assigned web [10.0.0.1]
	// unchanged [10.0.0.1]
	// pool no longer selects the service: [10.0.0.1] → batch [10.1.0.1]
	// released [10.1.0.1] true
}

// After a restart, a controller restores every service's addresses, read
// back from the services' status, before assigning any: a disabled pool
// keeps its services, and what is no longer valid is refused.
func ExampleManager_Restore() {
	m := ipam.NewManager()
	_ = m.SetPool(ipam.Pool{Name: "web", ServiceSelector: selector.MustParse("tier=web"),
		Ranges: []ipam.Range{ipam.MustParseRange("10.0.0.0/24")}})
	_ = m.SetPool(ipam.Pool{Name: "old", Disabled: true,
		Ranges: []ipam.Range{ipam.MustParseRange("10.9.0.0-10.9.0.255")}})

	errs := m.Restore([]ipam.Request{
		{Key: "shop/front", Labels: selector.Set{"tier": "web"}, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.42")}},
		{Key: "shop/legacy", Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.7")}},
		{Key: "shop/moved", Labels: selector.Set{"tier": "db"}, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.43")}},
	})
	for _, err := range errs {
		fmt.Println(err)
	}
	for _, a := range m.Assignments() {
		fmt.Println(a)
	}
	// Output:
	// <nil>
	// <nil>
	// ipam: service "shop/moved", pool "web": the pool holding [10.0.0.43] does not select the service: no pool
	// shop/front: web [10.0.0.42]
	// shop/legacy: old [10.9.0.7]
}
