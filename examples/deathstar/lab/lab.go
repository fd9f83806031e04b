// Package lab is the world around the node in the deathstar example: the
// router the node's BGP speaker peers with, a client behind that router,
// and a host on the node's L2 segment. The story (package main) makes lbkit
// calls on the node and, after each step, asks its World what the network
// sees now.
//
// Main is the command around the story: flags, Ctrl-C, exit status.
// There are two worlds. RunLoopback builds one in memory, in this process,
// on loopback, without privileges: an in-process GoBGP router (bgptest), an
// in-memory Ethernet segment (l2test) and HTTP clients that dial through
// them. RunNetns builds the real one in network namespaces (root): BIRD 2
// as the router, curl as the clients, and this program re-executed in the
// node's namespace (NodeMain) to run the story there.
//
// Not part of lbkit's API: it is the scaffolding around the example.
package lab

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/examples/deathstar/manifest"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/selector"
)

// A Story is the scenario, told on the node with the configuration cfg:
// lbkit calls, and after each step checks of what the world w sees. It
// returns nil only if every step behaved.
type Story func(ctx context.Context, w World, cfg manifest.Config, log *slog.Logger) error

// A World is the network around the node, as the story sees it. Its
// methods print what they see to the Guide and return an error (wrapping
// ErrStory) when the world is not as the story says.
type World interface {
	// Guide returns where the story is told.
	Guide() *Guide
	// Router makes the node serve the API on port 80 of the service
	// addresses addrs and brings up the router; it returns the peer the
	// node's speaker adds (pol's, or its stand-in on loopback).
	Router(ctx context.Context, pol manifest.BGPPolicy, addrs []netip.Addr) (bgp.Peer, error)
	// ExpectNoRoute checks that the router has no route to addr and the
	// client behind it cannot reach the service there.
	ExpectNoRoute(ctx context.Context, addr netip.Addr) error
	// ExpectRoutes checks that the router learned v4 and v6 from the node
	// and the client reaches the service on v6.
	ExpectRoutes(ctx context.Context, v4, v6 netip.Addr) error
	// ExpectHost checks that the host on the node's segment reaches the
	// service on addr (or, if !reachable, that it does not).
	ExpectHost(ctx context.Context, addr netip.Addr, reachable bool) error
	// NewL2 returns the node's L2 announcer: l2.New(ctx, cfg) on a real
	// node; on loopback, one on the in-memory segment.
	NewL2(ctx context.Context, cfg l2.Config) (*l2.Announcer, error)
	// ExpectWithdrawn checks that the router's table is empty and (on
	// loopback) that nobody answers ARP for addr any more.
	ExpectWithdrawn(ctx context.Context, addr netip.Addr) error
}

// Families returns the first IPv4 and the first IPv6 address of addrs.
func Families(addrs []netip.Addr) (v4, v6 netip.Addr) {
	for _, a := range addrs {
		switch {
		case a.Is4() && !v4.IsValid():
			v4 = a
		case a.Is6() && !v6.IsValid():
			v6 = a
		}
	}
	return v4, v6
}

// Ranges formats rs as a comma-separated list.
func Ranges(rs []ipam.Range) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// Labels formats l as k=v pairs sorted by key, as kubectl shows them.
func Labels(l selector.Set) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		kv = append(kv, k+"="+l[k])
	}
	return strings.Join(kv, ",")
}
