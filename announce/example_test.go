package announce_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/announce/announcetest"
	"github.com/lbkit/lbkit/selector"
)

// Only services labelled announced=bgp reach the BGP announcer; the label's
// removal withdraws the service.
func ExampleSelect() {
	ctx := context.Background()
	speaker := &announcetest.Recorder{} // a *bgp.Speaker in production
	bgp := announce.Select(selector.MustParse("announced=bgp"), speaker)

	ds := announce.Service{
		Key:    "batuu/deathstar",
		Labels: selector.Set{"org": "empire"},
		Addrs:  []netip.Addr{netip.MustParseAddr("172.18.255.201"), netip.MustParseAddr("2001:db8:dead:beef::111")},
	}
	_ = bgp.Announce(ctx, ds)
	fmt.Println("without label:", speaker.Addrs())

	ds.Labels = selector.Set{"org": "empire", "announced": "bgp"}
	_ = bgp.Announce(ctx, ds)
	fmt.Println("with label:", speaker.Addrs())

	ds.Labels = selector.Set{"org": "empire"}
	_ = bgp.Announce(ctx, ds)
	fmt.Println("label removed:", speaker.Addrs())
	// Output:
	// without label: []
	// with label: [172.18.255.201 2001:db8:dead:beef::111]
	// label removed: []
}

// Multi announces every service with BGP and L2 at once; a failure of one
// does not stop the other.
func ExampleMulti() {
	ctx := context.Background()
	bgp, l2 := &announcetest.Recorder{}, &announcetest.Recorder{}
	l2.FailNext(announcetest.MethodAnnounce, 1, errors.New("l2: no interface"))
	both := announce.Multi(bgp, l2)

	err := both.Announce(ctx, announce.Service{
		Key:   "batuu/deathstar",
		Addrs: []netip.Addr{netip.MustParseAddr("172.18.255.201")},
	})
	fmt.Println("error:", err)
	fmt.Println("bgp:", bgp.Keys(), "l2:", l2.Keys())
	// Output:
	// error: l2: no interface
	// bgp: [batuu/deathstar] l2: []
}

// An optional announcer that was never created, such as an unset
// *l2.Announcer, can be passed as it is: Select and Multi leave it out.
func ExampleMulti_optional() {
	ctx := context.Background()
	speaker := &announcetest.Recorder{}    // a *bgp.Speaker in production
	var l2Announcer *announcetest.Recorder // an *l2.Announcer, not configured
	a := announce.Multi(speaker, announce.Select(selector.MustParse("org=empire"), l2Announcer))

	err := a.Announce(ctx, announce.Service{Key: "batuu/deathstar", Labels: selector.Set{"org": "empire"}})
	fmt.Println(err, speaker.Keys())
	// Output:
	// <nil> [batuu/deathstar]
}
