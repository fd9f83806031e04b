package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/examples/deathstar/manifest"
	"github.com/lbkit/lbkit/internal/bird"
	"github.com/lbkit/lbkit/internal/netns"
	"github.com/lbkit/lbkit/l2"
)

// The lab's topology. Every link lives inside namespaces the lab creates;
// the subnets overlap nothing this machine's root namespace uses.
//
//	client ──(2001:db8:4c::/64)── router (BIRD 2) ──(peer's /64)── node ──(172.18.255.0/24)── host
//
// The router's address towards the node is the neighbor address of the BGP
// peering manifest (2001:db8:4e::1); the node takes ::2 of that /64.
const (
	clientLinkRouter = "2001:db8:4c::1"
	clientLinkClient = "2001:db8:4c::2"
	segNode          = "172.18.255.1/24"
	segHost          = "172.18.255.10/24"
	labRouterID      = "10.255.0.1"
)

// NodeHelper is the name under which the lab re-executes this program as
// its node (see IsNode and NodeMain).
const NodeHelper = "deathstar-node"

// NodeIDEnv names, in the node's environment, the node's namespace.
const NodeIDEnv = "DEATHSTAR_LAB"

// IsNode reports whether this process is the lab's node, re-executed in
// the node's namespace by RunNetns.
func IsNode() bool { return netns.HelperName() == NodeHelper }

// spec is what the node needs to know of the lab: the story call's argument.
type spec struct {
	Manifests            string
	Verbose              bool
	Router, Client, Host string     // namespaces
	Bird                 string     // BIRD's directory
	NodeAddr             netip.Addr // the node's address towards the router
}

// netnsLab is the parent's state of a RunNetns.
type netnsLab struct {
	out   io.Writer
	cfg   manifest.Config
	peer  netip.Addr // the router's address towards the node
	nodeA netip.Addr // the node's address towards the router

	router, client, node, host *netns.NS
	bird                       *bird.Router
	child                      *netns.Child
}

// RunNetns tells the story in network namespaces, with the manifests in
// dir, and prints it to out: BIRD 2 as the router, curl on the client and
// the host, and this program re-executed in the node's namespace, where
// NodeMain runs the story. It removes every namespace and process it
// created when it returns, whether the story succeeded, failed or ctx was
// cancelled (Ctrl-C). It needs root.
func RunNetns(ctx context.Context, out io.Writer, dir string, verbose bool) error {
	if err := netns.Available(); err != nil {
		return fmt.Errorf("-lab: %w", err)
	}
	for _, tool := range []string{"bird", "birdc", "curl", "ip", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("-lab needs %s (Debian: apt-get install bird2 curl iproute2 procps): %w", tool, err)
		}
	}
	cfg, err := manifest.Load(dir)
	if err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	l := &netnsLab{out: out, cfg: cfg}
	defer l.teardown()
	fmt.Fprintf(out, "Death Star, lab mode: network namespaces, BIRD 2, curl.\n")
	if err := l.build(); err != nil {
		return fmt.Errorf("-lab: building the topology: %w", err)
	}
	cmd := l.node.Helper(NodeHelper, NodeIDEnv+"="+l.node.Name())
	cmd.Stdout = out
	if l.child, err = l.node.StartChild(ctx, cmd); err != nil {
		return err
	}
	err = l.child.Call(ctx, "story", spec{Manifests: dir, Verbose: verbose,
		Router: l.router.Name(), Client: l.client.Name(), Host: l.host.Name(), Bird: l.bird.Dir(), NodeAddr: l.nodeA}, nil)
	if cerr := l.child.Close(); err == nil { // Close waits for the node's last output
		err = cerr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nEvery step behaved as the story says.\n")
	return nil
}

// build creates the namespaces, links, addresses and routes, starts BIRD,
// and prints the topology.
func (l *netnsLab) build() error {
	if len(l.cfg.BGP.Peers) != 1 || !l.cfg.BGP.Peers[0].Address.Is6() {
		return fmt.Errorf("%s must have one IPv6 neighbor, the lab's router", manifest.BGPFile)
	}
	l.peer = l.cfg.BGP.Peers[0].Address
	l.nodeA = netip.PrefixFrom(l.peer, 64).Masked().Addr().Next().Next()
	var err error
	for _, p := range []struct {
		ns   **netns.NS
		name string
	}{{&l.router, "dsrtr"}, {&l.client, "dscli"}, {&l.node, "dsnode"}, {&l.host, "dshost"}} {
		if *p.ns, err = netns.New(p.name); err != nil {
			return err
		}
	}
	for _, s := range []func() error{
		func() error { return netns.Veth(l.router, "down0", l.node, "up0") },
		func() error { return netns.Veth(l.router, "cli0", l.client, "eth0") },
		func() error { return netns.Veth(l.node, "seg0", l.host, "eth0") },
		func() error { return l.router.Addr("down0", l.peer.String()+"/64") },
		func() error { return l.node.Addr("up0", l.nodeA.String()+"/64") },
		func() error { return l.router.Addr("cli0", clientLinkRouter+"/64") },
		func() error { return l.client.Addr("eth0", clientLinkClient+"/64") },
		func() error { return l.node.Addr("seg0", segNode) },
		func() error { return l.host.Addr("eth0", segHost) },
		func() error { return l.router.Sysctl("net.ipv6.conf.all.forwarding", "1") },
		func() error { return l.node.Sysctl("net.ipv4.conf.all.arp_ignore", "1") },
		func() error { return l.node.Sysctl("net.ipv4.conf.all.arp_announce", "2") },
		func() error { return route(l.client, clientLinkRouter) },
		func() error { return route(l.node, l.peer.String()) },
		l.startBird,
	} {
		if err := s(); err != nil {
			return err
		}
	}
	fmt.Fprintf(l.out, "\nTopology (namespaces %s, %s, %s, %s):\n", l.client.Name(), l.router.Name(), l.node.Name(), l.host.Name())
	fmt.Fprintf(l.out, "   client %s ── %s router (BIRD 2, AS %d) %s ── %s node (lbkit, AS %d)\n",
		clientLinkClient, clientLinkRouter, l.cfg.BGP.Peers[0].ASN, l.peer, l.nodeA, l.cfg.BGP.ASN)
	fmt.Fprintf(l.out, "   node seg0 %s ── %s host (same L2 segment, not a BGP peer)\n", segNode, segHost)
	fmt.Fprintf(l.out, "   router config: %s\n", filepath.Join(l.bird.Dir(), "bird.conf"))
	return nil
}

// route makes gw the namespace's default IPv6 route.
func route(ns *netns.NS, gw string) error {
	_, err := ns.Run("ip", "-6", "route", "add", "default", "via", gw)
	return err
}

// startBird starts the router: one BGP session to the node, whose routes
// it exports to its kernel table.
func (l *netnsLab) startBird() error {
	p := l.cfg.BGP.Peers[0]
	r, err := bird.Start(l.router, bird.Config{
		RouterID: netip.MustParseAddr(labRouterID),
		ASN:      p.ASN,
		Kernel:   true,
		Neighbors: []bird.Neighbor{{
			Name: "node", Address: l.nodeA, ASN: l.cfg.BGP.ASN, Local: l.peer, IPv6: true,
			HoldTime: int(p.HoldTime / time.Second), ConnectRetry: 1,
		}},
	})
	l.bird = r
	return err
}

// teardown stops the node and BIRD and deletes every namespace, whatever
// state the lab is in.
func (l *netnsLab) teardown() {
	if l.child != nil {
		l.child.Kill()
	}
	if l.bird != nil {
		l.bird.Close() // stops BIRD by pid and removes its directory
	}
	for _, ns := range []*netns.NS{l.node, l.host, l.client, l.router} {
		if ns != nil {
			ns.Delete() // stops its processes by pid
		}
	}
}

// NodeMain runs the lab's node: it answers RunNetns's call by telling story
// with the lab's world, printing to stdout, and returns the exit status.
func NodeMain(story Story) int {
	// The lab finds the node by NodeIDEnv in its environment (as exec'd,
	// /proc/PID/environ); what the node runs (curl, ip) does not carry it.
	_ = os.Unsetenv(NodeIDEnv)
	return netns.Serve(func(ctx context.Context, req netns.Request) (any, error) {
		var sp spec
		if err := req.Decode(&sp); err != nil || req.Op != "story" {
			return nil, fmt.Errorf("node: bad call %s: %v", req.Op, err)
		}
		cfg, err := manifest.Load(sp.Manifests)
		if err != nil {
			return nil, err
		}
		level := slog.LevelWarn
		if sp.Verbose {
			level = slog.LevelDebug
		}
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
		w := &node{g: NewGuide(os.Stdout), sp: sp, bird: bird.Attach(sp.Bird)}
		defer w.close()
		return nil, story(ctx, w, cfg, log)
	})
}

// node is the lab's world as the node sees it, from inside its namespace.
type node struct {
	g    *Guide
	sp   spec
	bird *bird.Router
	srv  *http.Server
	onLo []netip.Addr
}

func (w *node) Guide() *Guide { return w.g }

func (w *node) close() {
	if w.srv != nil {
		_ = w.srv.Close()
	}
	for _, a := range w.onLo {
		_ = exec.Command("ip", "addr", "del", netip.PrefixFrom(a, a.BitLen()).String(), "dev", "lo").Run()
	}
}

// Router puts the service addresses on lo and serves the API on port 80;
// the router is BIRD, already running.
func (w *node) Router(_ context.Context, pol manifest.BGPPolicy, addrs []netip.Addr) (bgp.Peer, error) {
	for _, a := range addrs {
		if out, err := exec.Command("ip", "addr", "add", netip.PrefixFrom(a, a.BitLen()).String(), "dev", "lo", "nodad").CombinedOutput(); err != nil {
			return bgp.Peer{}, fmt.Errorf("ip addr add %v dev lo: %v: %s", a, err, out)
		}
		w.onLo = append(w.onLo, a)
	}
	w.g.Say("node: %v on lo (arp_ignore=1, arp_announce=2: the kernel keeps quiet about them)", addrs)
	l, err := net.Listen("tcp", ":80")
	if err != nil {
		return bgp.Peer{}, err
	}
	w.srv = &http.Server{Handler: apiHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = w.srv.Serve(l) }()
	w.g.Say("node: Death Star API on port 80")
	return pol.Peers[0], nil
}

func (w *node) ExpectNoRoute(ctx context.Context, addr netip.Addr) error {
	wctx, cancel := context.WithTimeout(ctx, waitRoutes)
	defer cancel()
	if err := w.bird.WaitEstablished(wctx, "node"); err != nil {
		return w.g.Fail("BIRD's session to the node: %v", err)
	}
	w.g.OK("router: BIRD's session to the node is Established")
	if rts, err := w.routes(addr); err != nil || len(rts) != 0 {
		return w.g.Fail("router has a route for %v before the label: %v %v", addr, rts, err)
	}
	w.g.OK("router: no route for %v (birdc show route all)", addr)
	return expectUnreachable(ctx, w.g, "client "+clientLinkClient, addr, "the label", curl(w.sp.Client))
}

// ExpectRoutes checks the IPv6 route only: the lab's session carries IPv6.
func (w *node) ExpectRoutes(ctx context.Context, _, v6 netip.Addr) error {
	var kernel string
	if err := waitFor(ctx, waitRoutes, func() (bool, string) {
		kernel, _ = run(w.sp.Router, "ip", "-6", "route", "show", v6.String()+"/128")
		return strings.Contains(kernel, "via "+w.sp.NodeAddr.String()), kernel
	}); err != nil {
		return w.g.Fail("router's kernel never got the route: %v", err)
	}
	rts, err := w.routes(v6)
	if err != nil || len(rts) != 1 || rts[0].Gateway != w.sp.NodeAddr {
		return w.g.Fail("router's BIRD routes for %v: %v %v; want one via %v", v6, rts, err, w.sp.NodeAddr)
	}
	w.g.OK("router: BIRD learned %v via %v on %s, AS path %s", rts[0].Prefix, rts[0].Gateway, rts[0].Interface, rts[0].ASPath)
	w.g.OK("router: ip -6 route → %s", strings.TrimSpace(kernel))
	return expectReachable(ctx, w.g, "client "+clientLinkClient, v6, curl(w.sp.Client))
}

func (w *node) ExpectHost(ctx context.Context, addr netip.Addr, reachable bool) error {
	who := "host " + strings.TrimSuffix(segHost, "/24")
	if !reachable {
		return expectUnreachable(ctx, w.g, who, addr, "L2 announcements", curl(w.sp.Host))
	}
	if err := expectReachable(ctx, w.g, who, addr, curl(w.sp.Host)); err != nil {
		return err
	}
	seg, err := net.InterfaceByName("seg0")
	if err != nil {
		return w.g.Fail("node: %v", err)
	}
	neigh, _ := run(w.sp.Host, "ip", "neigh", "show", addr.String())
	if !strings.Contains(neigh, seg.HardwareAddr.String()) {
		return w.g.Fail("host's neighbour entry %q is not the node's seg0 MAC %s", neigh, seg.HardwareAddr)
	}
	w.g.OK("host: ip neigh → %s (the node's seg0 is %s)", strings.TrimSpace(neigh), seg.HardwareAddr)
	return nil
}

func (w *node) NewL2(ctx context.Context, cfg l2.Config) (*l2.Announcer, error) {
	a, err := l2.New(ctx, cfg)
	if err == nil && len(a.Interfaces()) == 0 {
		_ = a.Close()
		return nil, fmt.Errorf("interfaces %q match none of the node's", cfg.Interfaces)
	}
	return a, err
}

func (w *node) ExpectWithdrawn(ctx context.Context, _ netip.Addr) error {
	if err := waitFor(ctx, waitRoutes, func() (bool, string) {
		rts, err := w.bird.Routes()
		kernel, _ := run(w.sp.Router, "ip", "-6", "route", "show", "proto", "bird")
		return err == nil && len(rts) == 0 && strings.TrimSpace(kernel) == "", fmt.Sprint(rts, err, kernel)
	}); err != nil {
		return w.g.Fail("router still has routes: %v", err)
	}
	w.g.OK("router: BIRD's tables are empty (birdc show route all)")
	w.g.OK("router: ip -6 route show proto bird → (nothing)")
	return nil
}

// routes returns the router's routes for addr (BIRD's table).
func (w *node) routes(addr netip.Addr) ([]bird.Route, error) {
	rts, err := w.bird.Routes()
	var out []bird.Route
	for _, r := range rts {
		if r.Prefix.Contains(addr) {
			out = append(out, r)
		}
	}
	return out, err
}

// run runs a command in the namespace named ns and returns its combined
// output.
func run(ns string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	return string(out), err
}

// curl returns a fetcher running the real curl in the namespace named ns.
// Its error is curl's message.
func curl(ns string) fetcher {
	return func(ctx context.Context, url string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns,
			"curl", "-sS", "-g", "--connect-timeout", "3", "--max-time", "5", url).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s (%w)", bytes.TrimSpace(out), err)
		}
		return string(out), nil
	}
}
