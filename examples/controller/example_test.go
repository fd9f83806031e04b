package main

import (
	"context"
	"fmt"

	"github.com/lbkit/lbkit/announce/announcetest"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// A reconcile loop tested with Recorders in place of a bgp.Speaker and an
// l2 announcer.
func ExampleController() {
	m := ipam.NewManager()
	_ = m.SetPool(ipam.Pool{
		Name:            "empire-ip-pool",
		Ranges:          []ipam.Range{ipam.MustParseRange("172.18.255.200/29"), ipam.MustParseRange("2001:db8:dead:beef::/64")},
		ServiceSelector: selector.MustParse("org=empire"),
	})
	bgp, l2 := &announcetest.Recorder{}, &announcetest.Recorder{}
	c := NewController(m, Announcers(selector.MustParse("announced=bgp"), bgp, selector.MustParse("org=empire"), l2), nil)

	svc := Service{Namespace: "batuu", Name: "deathstar", Labels: selector.Set{"org": "empire"}}
	st, _ := c.Reconcile(context.Background(), Event{Added, svc})
	fmt.Println("assigned:", st.Addrs, "bgp:", bgp.Addrs(), "l2:", l2.Addrs())

	svc.Labels = selector.Set{"org": "empire", "announced": "bgp"}
	_, _ = c.Reconcile(context.Background(), Event{Updated, svc})
	fmt.Println("labelled: bgp:", bgp.Addrs())

	_, _ = c.Reconcile(context.Background(), Event{Deleted, svc})
	fmt.Println("deleted: bgp:", bgp.Addrs(), "l2:", l2.Addrs(), "assignments:", len(m.Assignments()))
	// Output:
	// assigned: [172.18.255.201 2001:db8:dead:beef::1] bgp: [] l2: [172.18.255.201 2001:db8:dead:beef::1]
	// labelled: bgp: [172.18.255.201 2001:db8:dead:beef::1]
	// deleted: bgp: [] l2: [] assignments: 0
}
