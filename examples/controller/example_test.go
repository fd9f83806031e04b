package main

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/announce/announcetest"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/l2"
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

// The composition in README.md, compiled here so that it stays correct.
// It is not run: l2.New needs CAP_NET_RAW, and the peer is the lab's router.
func Example_composition() {
	ctx := context.Background()
	labels := selector.Set{"org": "empire", "announced": "bgp"}
	// -- README snippet begins --
	m := ipam.NewManager()
	_ = m.SetPool(ipam.Pool{Name: "empire-ip-pool", ServiceSelector: selector.MustParse("org=empire"),
		Ranges: []ipam.Range{ipam.MustParseRange("172.18.255.200/29"), ipam.MustParseRange("2001:db8:dead:beef::/64")}})
	// ctx bounds each call; for New, only the start: announcers run until Close.
	speaker, _ := bgp.New(ctx, bgp.Config{ASN: 65001, RouterID: netip.MustParseAddr("10.255.0.2")})
	_ = speaker.AddPeer(ctx, bgp.Peer{Address: netip.MustParseAddr("2001:db8:4e::1"), ASN: 65000})
	arp, _ := l2.New(ctx, l2.Config{Interfaces: []string{"eth1"}})
	ann := announce.Multi(
		announce.Select(selector.MustParse("announced=bgp"), speaker), // BGP: only services labelled announced=bgp
		announce.Select(selector.MustParse("org=empire"), arp))        // ARP/NDP: every org=empire service
	defer ann.Close() // withdraws everything, stops the speaker and the ARP/NDP announcer

	// On every service add or update (Assign is an idempotent ensure):
	a, _ := m.Assign(ipam.Request{Key: "batuu/deathstar", Labels: labels})
	_ = ann.Announce(ctx, announce.Service{Key: "batuu/deathstar", Labels: labels, Addrs: a.Addrs})
	// On delete: ann.Withdraw(ctx, key), then m.Release(key).
	// -- README snippet ends --
}
