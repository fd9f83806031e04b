// Command controller shows how a controller composes lbkit: an
// ipam.Manager hands out addresses from pools, and announce.Multi fans them
// out to a bgp.Speaker wrapped in announce.Select(announced=bgp) and an l2
// announcer wrapped in announce.Select(org=empire), all driven by service
// add/update/delete events in a reconcile loop (Controller.Reconcile). On
// start, Controller.Restore keeps the addresses the listed services already
// have (Manager.Restore) before any event is handled.
//
// Here the events come from a short script; a Kubernetes controller feeds
// the same loop from a service informer. Its unit test (controller_test.go)
// shows how to test such a loop with announcetest.Recorder instead of real
// announcers.
//
//	go run ./examples/controller                                   # BGP without peers, L2 dry run
//	go run ./examples/controller -peer 10.0.0.1 -peer-asn 65000     # announce to a router
//	sudo go run ./examples/controller -l2-interface eth1            # answer ARP/NDP on eth1
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"slices"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/announce/announcetest"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/selector"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	peer := fs.String("peer", "", "BGP neighbor address (none: the speaker holds its routes without peers)")
	peerASN := fs.Uint("peer-asn", 65000, "BGP neighbor AS number")
	asn := fs.Uint("asn", 65001, "local AS number")
	iface := fs.String("l2-interface", "", "interface to answer ARP/NDP on (needs CAP_NET_RAW; none: L2 dry run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	localASN, err := asn32("-asn", *asn)
	if err != nil {
		return err
	}
	neighborASN, err := asn32("-peer-asn", *peerASN)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// Addresses: one pool, as in the reference scenario.
	m := ipam.NewManager(ipam.WithLogger(log))
	if err := m.SetPool(ipam.Pool{
		Name:            "empire-ip-pool",
		Ranges:          []ipam.Range{ipam.MustParseRange("172.18.255.200/29"), ipam.MustParseRange("2001:db8:dead:beef::/64")},
		ServiceSelector: selector.MustParse("org=empire"),
	}); err != nil {
		return err
	}

	// Announcers: BGP for services labelled announced=bgp, L2 for org=empire.
	speaker, err := bgp.New(ctx, bgp.Config{ASN: localASN, RouterID: netip.MustParseAddr("10.255.0.2"), Logger: log})
	if err != nil {
		return err
	}
	defer speaker.Close() // on early returns; after ann.Close it does nothing
	if *peer != "" {
		addr, err := netip.ParseAddr(*peer)
		if err != nil {
			return fmt.Errorf("-peer: %w", err)
		}
		if err := speaker.AddPeer(ctx, bgp.Peer{Address: addr, ASN: neighborASN}); err != nil {
			return err
		}
	}
	var l2ann announce.Announcer = &announcetest.Recorder{} // dry run: records what it would announce
	if *iface != "" {
		if l2ann, err = l2.New(ctx, l2.Config{Interfaces: []string{*iface}, Logger: log}); err != nil {
			return err
		}
	}
	ann := Announcers(selector.MustParse("announced=bgp"), speaker, selector.MustParse("org=empire"), l2ann)
	defer ann.Close()

	c := NewController(m, ann, log)
	// On start, before any event: keep the addresses the listed services
	// already have.
	sts, err := c.Restore(ctx, listed())
	for _, key := range slices.Sorted(maps.Keys(sts)) {
		fmt.Fprintf(out, "%-7s %-16s %v from %s (%v)\n", "listed", key, sts[key].Addrs, sts[key].Pool, sts[key].Reason)
	}
	if err != nil {
		fmt.Fprintf(out, "restore: %v\n", err)
	}
	events := make(chan Event)
	go func() {
		defer close(events)
		for _, ev := range script() {
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	c.Run(ctx, events, func(ev Event, st Status, err error) {
		switch {
		case err != nil:
			fmt.Fprintf(out, "%-7s %-16s error: %v\n", ev.Type, ev.Service.Key(), err)
		case ev.Type == Deleted:
			fmt.Fprintf(out, "%-7s %-16s withdrawn and released\n", ev.Type, ev.Service.Key())
		default:
			fmt.Fprintf(out, "%-7s %-16s %v from %s (%v)\n", ev.Type, ev.Service.Key(), st.Addrs, st.Pool, st.Reason)
		}
	})
	if rec, ok := l2ann.(*announcetest.Recorder); ok {
		fmt.Fprintf(out, "L2 dry run: %d calls, answering for %v at the end\n", len(rec.Calls()), rec.Addrs())
	}
	return ctx.Err()
}

// asn32 returns the value v of the AS number flag name, or an error if it
// does not fit in 32 bits.
func asn32(name string, v uint) (uint32, error) {
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("%s %d: AS numbers have 32 bits", name, v)
	}
	return uint32(v), nil
}

// listed are the services the informer lists at start: one was given an
// address before the controller restarted.
func listed() []Service {
	return []Service{{Namespace: "scarif", Name: "citadel", Labels: selector.Set{"org": "empire"},
		Status: []netip.Addr{netip.MustParseAddr("172.18.255.203")}}}
}

// script is the demo's sequence of informer events.
func script() []Event {
	deathstar := Service{Namespace: "batuu", Name: "deathstar", Labels: selector.Set{"org": "empire"},
		Ports: []ipam.Port{{Protocol: ipam.TCP, Port: 80}}}
	labelled := deathstar
	labelled.Labels = selector.Set{"org": "empire", "announced": "bgp"}
	echoBase := Service{Namespace: "hoth", Name: "echo-base", Labels: selector.Set{"org": "rebels"}}
	return []Event{
		{Added, deathstar},
		{Updated, labelled},
		{Added, echoBase},
		{Deleted, labelled},
	}
}
