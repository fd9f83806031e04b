// Command deathstar runs lbkit's reference scenario end to end and tells it
// as a lab guide would: a pool, a service that gets one IPv4 and one IPv6
// address, BGP announcements gated by a label, L2 (ARP) announcements for a
// host on the node's segment, and a clean shutdown.
//
//	go run ./examples/deathstar            # one process, loopback, no privileges, a few seconds
//	sudo go run ./examples/deathstar -lab  # network namespaces, BIRD 2, curl
//
// The story below is what a controller does with lbkit, the code to copy.
// Around it, package lab parses the flags and plays the network the node
// sits in: in memory on loopback, or (-lab) real namespaces where this
// program is re-executed as the node. The configuration comes from
// manifests/ (see -manifests) in the shapes of Cilium's
// CiliumLoadBalancerIPPool, CiliumBGPPeeringPolicy and
// CiliumL2AnnouncementPolicy (package manifest).
//
// The exit status is 0 only if every step behaved as the story says, 1 if
// not, 2 for bad flags.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/examples/deathstar/lab"
	"github.com/lbkit/lbkit/examples/deathstar/manifest"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/selector"
)

func main() {
	os.Exit(lab.Main(os.Args[1:], os.Stdout, os.Stderr, story))
}

// story is the scenario, the same in both modes: the calls a controller
// makes to lbkit on the node, and after each step what the world around the
// node (w) sees.
func story(ctx context.Context, w lab.World, cfg manifest.Config, log *slog.Logger) error {
	g := w.Guide()
	const key = "batuu/deathstar"
	m := ipam.NewManager(ipam.WithLogger(log))

	g.Step("a pool %s (%s) selecting %s", cfg.Pool.Name, lab.Ranges(cfg.Pool.Ranges), cfg.Pool.ServiceSelector)
	g.Say("manifests/%s → ipam.Pool{Name: %q, Ranges: [%s], ServiceSelector: %q}", manifest.PoolFile,
		cfg.Pool.Name, lab.Ranges(cfg.Pool.Ranges), cfg.Pool.ServiceSelector)
	if err := m.SetPool(cfg.Pool); err != nil {
		return g.Fail("SetPool: %v", err)
	}
	st := m.Pools()[0]
	g.OK("ipam.Manager.SetPool(%s): %v IPv4 and %v IPv6 addresses free", st.Name, st.Free(ipam.IPv4), st.Free(ipam.IPv6))

	g.Step("service %s (labels org=empire, TCP 80) gets one IPv4 and one IPv6 address", key)
	svc := announce.Service{Key: key, Labels: selector.Set{"org": "empire"}}
	a, err := m.Assign(ipam.Request{Key: key, Labels: svc.Labels, Ports: []ipam.Port{{Protocol: ipam.TCP, Port: 80}}})
	if err != nil {
		return g.Fail("Assign: %v", err)
	}
	svc.Addrs = a.Addrs
	v4, v6 := lab.Families(a.Addrs)
	if len(a.Addrs) != 2 || !v4.IsValid() || !v6.IsValid() {
		return g.Fail("got %v from pool %s, want one IPv4 and one IPv6", a.Addrs, a.Pool)
	}
	g.OK("ipam.Manager.Assign → pool %s, %v and %v", a.Pool, v4, v6)

	g.Step("a BGP speaker on the node, peered with a router, wrapped in announce.Select(%s): the client cannot reach the service", cfg.BGP.Selector)
	peer, err := w.Router(ctx, cfg.BGP, a.Addrs)
	if err != nil {
		return g.Fail("%v", err)
	}
	speaker, err := bgp.New(ctx, bgp.Config{ASN: cfg.BGP.ASN, RouterID: cfg.BGP.RouterID, Logger: log})
	if err != nil {
		return g.Fail("bgp.New: %v", err)
	}
	defer speaker.Close() // on failure; step 6 closes it on success
	bgpAnn := announce.Select(cfg.BGP.Selector, speaker)
	if err := established(ctx, speaker, peer); err != nil {
		return g.Fail("%v", err)
	}
	g.OK("speaker AS %d ↔ router %v AS %d: established", cfg.BGP.ASN, peer.Address, peer.ASN)
	if err := bgpAnn.Announce(ctx, svc); err != nil {
		return g.Fail("Announce: %v", err)
	}
	g.Say("controller: Announce(%s, labels %s, %v)", svc.Key, lab.Labels(svc.Labels), svc.Addrs)
	time.Sleep(300 * time.Millisecond) // give a wrong announcement time to show
	if ps, err := speaker.Peers(ctx); err != nil || len(ps) != 1 || ps[0].Sent != 0 {
		return g.Fail("speaker peers %+v (%v), want one peer and 0 routes sent", ps, err)
	}
	g.OK("speaker sent 0 routes: the service is not labelled %s", cfg.BGP.Selector)
	if err := w.ExpectNoRoute(ctx, v6); err != nil {
		return err
	}

	g.Step("the service is labelled announced=bgp: now the client can reach it")
	svc.Labels["announced"] = "bgp"
	if err := bgpAnn.Announce(ctx, svc); err != nil {
		return g.Fail("Announce: %v", err)
	}
	g.Say("controller: Announce(%s, labels %s, %v)", svc.Key, lab.Labels(svc.Labels), svc.Addrs)
	if err := w.ExpectRoutes(ctx, v4, v6); err != nil {
		return err
	}

	g.Step("the host on the node's L2 segment (not a BGP peer) reaches %v only once an L2 announcer is added", v4)
	if err := w.ExpectHost(ctx, v4, false); err != nil {
		return err
	}
	l2Ann, err := w.NewL2(ctx, l2.Config{Interfaces: cfg.L2.Interfaces, Logger: log}) // l2.New on a real node
	if err != nil {
		return g.Fail("L2 announcer: %v", err)
	}
	ann := announce.Multi(bgpAnn, announce.Select(cfg.L2.Selector, l2Ann))
	defer ann.Close() // on failure; step 6 closes it on success
	if err := ann.Announce(ctx, svc); err != nil {
		return g.Fail("Announce: %v", err)
	}
	g.Say("L2 announcer on %v, policy %s: announce.Multi(bgp, announce.Select(%s, l2))", l2Ann.Interfaces(), cfg.L2.Name, cfg.L2.Selector)
	if err := w.ExpectHost(ctx, v4, true); err != nil {
		return err
	}

	g.Step("clean shutdown: routes withdrawn, the router's table empty")
	if err := ann.Close(); err != nil {
		return g.Fail("Close: %v", err)
	}
	g.OK("announcers closed (bgp withdrew its routes, l2 stopped answering)")
	if err := w.ExpectWithdrawn(ctx, v4); err != nil {
		return err
	}
	if err := m.Release(key); err != nil {
		return g.Fail("Release: %v", err)
	}
	g.OK("ipam.Manager.Release(%s): addresses back in %s", key, cfg.Pool.Name)
	return nil
}

// established adds peer to the speaker and waits until its session is up.
func established(ctx context.Context, s *bgp.Speaker, peer bgp.Peer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	events := s.Watch(ctx) // before AddPeer: no state change is missed
	if err := s.AddPeer(ctx, peer); err != nil {
		return fmt.Errorf("AddPeer: %w", err)
	}
	for ev := range events {
		if ev.Address == peer.Address && ev.State == bgp.StateEstablished {
			return nil
		}
	}
	return fmt.Errorf("session to %v not established: %w", peer.Address, ctx.Err())
}
