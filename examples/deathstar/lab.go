package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lbkit/lbkit/internal/bird"
	"github.com/lbkit/lbkit/internal/netns"
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

// lab is the state of a -lab run.
type lab struct {
	g     *guide
	w     io.Writer
	cfg   Config
	dir   string // manifests, absolute
	peer  netip.Addr
	nodeA netip.Addr // the node's address towards the router

	router, client, node, host *netns.NS
	bird                       *bird.Router
	conn                       *nodeConn
	nodeIn                     io.Closer
	v4, v6                     netip.Addr
	verbose                    bool // the node logs at debug level
}

// RunLab tells the story in network namespaces: BIRD 2 as the router, the
// node (this program re-executed in its namespace) running lbkit and the
// API, curl on the client and the host. It removes every namespace and
// process it created when it returns, whether the story succeeded, failed
// or ctx was cancelled (Ctrl-C). It needs root.
func RunLab(ctx context.Context, w io.Writer, dir string, log *slog.Logger) error {
	if err := netns.Available(); err != nil {
		return fmt.Errorf("-lab: %w", err)
	}
	for _, tool := range []string{"bird", "birdc", "curl", "ip", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("-lab needs %s (Debian: apt-get install bird2 curl iproute2 procps): %w", tool, err)
		}
	}
	cfg, err := LoadManifests(dir)
	if err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	l := &lab{g: &guide{w: w}, w: w, cfg: cfg, dir: dir, verbose: log != nil && log.Enabled(ctx, slog.LevelDebug)}
	defer l.teardown()
	fmt.Fprintf(w, "Death Star, lab mode: network namespaces, BIRD 2, curl.\n")
	for _, step := range []func(context.Context) error{l.build, l.pool, l.assign, l.bgpUnlabelled, l.bgpLabelled, l.l2, l.shutdown} {
		if err := step(ctx); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nEvery step behaved as the story says.\n")
	return nil
}

// build creates the namespaces, links, addresses and routes, and starts BIRD
// and the node.
func (l *lab) build(ctx context.Context) error {
	if len(l.cfg.BGP.Peers) != 1 || !l.cfg.BGP.Peers[0].Address.Is6() {
		return fmt.Errorf("-lab: %s must have one IPv6 neighbor, the lab's router", bgpFile)
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
	steps := []func() error{
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
		func() error {
			_, err := l.client.Run("ip", "-6", "route", "add", "default", "via", clientLinkRouter)
			return err
		},
		func() error {
			_, err := l.node.Run("ip", "-6", "route", "add", "default", "via", l.peer.String())
			return err
		},
		l.startBird,
		l.startNode,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("-lab: building the topology: %w", err)
		}
	}
	fmt.Fprintf(l.w, "\nTopology (namespaces %s, %s, %s, %s):\n", l.client.Name(), l.router.Name(), l.node.Name(), l.host.Name())
	fmt.Fprintf(l.w, "   client %s ── %s router (BIRD 2, AS %d) %s ── %s node (lbkit, AS %d)\n",
		clientLinkClient, clientLinkRouter, l.cfg.BGP.Peers[0].ASN, l.peer, l.nodeA, l.cfg.BGP.ASN)
	fmt.Fprintf(l.w, "   node seg0 %s ── %s host (same L2 segment, not a BGP peer)\n", segNode, segHost)
	fmt.Fprintf(l.w, "   router config: %s\n", filepath.Join(l.bird.Dir(), "bird.conf"))
	return nil
}

// startBird starts the router: one BGP session to the node, whose routes
// it exports to its kernel table.
func (l *lab) startBird() error {
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
	if err != nil {
		return err
	}
	l.bird = r
	return nil
}

// routes returns the router's routes for addr (BIRD's table).
func (l *lab) routes(addr netip.Addr) ([]bird.Route, error) {
	rts, err := l.bird.Routes()
	var out []bird.Route
	for _, r := range rts {
		if r.Prefix.Contains(addr) {
			out = append(out, r)
		}
	}
	return out, err
}

// startNode re-executes this program in the node namespace as the node.
func (l *lab) startNode() error {
	env := []string{labNodeEnv + "=" + l.dir, labIDEnv + "=" + l.node.Name()}
	if l.verbose {
		env = append(env, labVerboseEnv+"=1")
	}
	cmd := l.node.Helper(labNodeHelper, env...)
	cmd.Stdout = nil // StdoutPipe below
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := l.node.Start(cmd); err != nil {
		return err
	}
	l.nodeIn = in
	l.conn = &nodeConn{in: in, out: bufio.NewScanner(out), w: l.w}
	return nil
}

// teardown stops the node and BIRD and deletes every namespace, whatever
// state the lab is in.
func (l *lab) teardown() {
	if l.nodeIn != nil {
		_ = l.nodeIn.Close() // the node cleans up and exits at end of input
	}
	if l.bird != nil {
		l.bird.Close() // stops BIRD by pid and removes its directory
	}
	for _, ns := range []*netns.NS{l.node, l.host, l.client, l.router} {
		if ns != nil {
			ns.Delete() // stops its processes (node, BIRD) by pid
		}
	}

}

func (l *lab) pool(ctx context.Context) error {
	l.g.step("%s", poolTitle(l.cfg))
	_, err := l.conn.do(ctx, "pool")
	return err
}

func (l *lab) assign(ctx context.Context) error {
	l.g.step("%s", assignTitle())
	data, err := l.conn.do(ctx, "assign")
	if err != nil {
		return err
	}
	f := strings.Fields(data)
	if len(f) != 2 {
		return l.g.failf("node answered %q", data)
	}
	if l.v4, err = netip.ParseAddr(f[0]); err != nil {
		return err
	}
	l.v6, err = netip.ParseAddr(f[1])
	return err
}

// bgpUnlabelled is step 3.
func (l *lab) bgpUnlabelled(ctx context.Context) error {
	g := l.g
	g.step("%s", bgpTitle(l.cfg))
	if _, err := l.conn.do(ctx, "bgp"); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, waitRoutes)
	defer cancel()
	if err := l.bird.WaitEstablished(wctx, "node"); err != nil {
		return g.failf("BIRD's session to the node: %v", err)
	}
	g.ok("router: BIRD's session to the node is Established")
	time.Sleep(500 * time.Millisecond) // give a wrong announcement time to show
	if rts, err := l.routes(l.v6); err != nil || len(rts) != 0 {
		return g.failf("router has a route for %v before the label: %v %v", l.v6, rts, err)
	}
	g.ok("router: no route for %v (birdc show route all)", l.v6)
	return expectUnreachable(ctx, g, "client "+clientLinkClient, serviceURL(l.v6), "the label", l.curl(l.client))
}

// bgpLabelled is step 4.
func (l *lab) bgpLabelled(ctx context.Context) error {
	g := l.g
	g.step("%s", labelTitle())
	if _, err := l.conn.do(ctx, "label"); err != nil {
		return err
	}
	var kernel string
	if err := waitFor(ctx, waitRoutes, func() (bool, string) {
		kernel, _ = l.router.Run("ip", "-6", "route", "show", l.v6.String()+"/128")
		return strings.Contains(kernel, "via "+l.nodeA.String()), kernel
	}); err != nil {
		return g.failf("router's kernel never got the route: %v", err)
	}
	rts, err := l.routes(l.v6)
	if err != nil || len(rts) != 1 || rts[0].Gateway != l.nodeA {
		return g.failf("router's BIRD routes for %v: %v %v; want one via %v", l.v6, rts, err, l.nodeA)
	}
	g.ok("router: BIRD learned %v via %v on %s, AS path %s", rts[0].Prefix, rts[0].Gateway, rts[0].Interface, rts[0].ASPath)
	g.ok("router: ip -6 route → %s", strings.TrimSpace(kernel))
	return expectReachable(ctx, g, "client "+clientLinkClient, serviceURL(l.v6), l.curl(l.client))
}

// l2 is step 5.
func (l *lab) l2(ctx context.Context) error {
	g := l.g
	g.step("%s", l2Title(l.v4))
	host := "host " + strings.TrimSuffix(segHost, "/24")
	if err := expectUnreachable(ctx, g, host, serviceURL(l.v4), "L2 announcements", l.curl(l.host)); err != nil {
		return err
	}
	if _, err := l.conn.do(ctx, "l2"); err != nil {
		return err
	}
	if err := expectReachable(ctx, g, host, serviceURL(l.v4), l.curl(l.host)); err != nil {
		return err
	}
	mac, err := l.node.MAC("seg0")
	if err != nil {
		return err
	}
	neigh, _ := l.host.Run("ip", "neigh", "show", l.v4.String())
	if !strings.Contains(neigh, mac) {
		return g.failf("host's neighbour entry %q is not the node's seg0 MAC %s", neigh, mac)
	}
	g.ok("host: ip neigh → %s (the node's seg0 is %s)", strings.TrimSpace(neigh), mac)
	return nil
}

// shutdown is step 6.
func (l *lab) shutdown(ctx context.Context) error {
	g := l.g
	g.step("%s", shutdownTitle())
	if _, err := l.conn.do(ctx, "close"); err != nil {
		return err
	}
	if err := waitFor(ctx, waitRoutes, func() (bool, string) {
		rts, err := l.bird.Routes()
		kernel, _ := l.router.Run("ip", "-6", "route", "show", "proto", "bird")
		return err == nil && len(rts) == 0 && strings.TrimSpace(kernel) == "", fmt.Sprint(rts, err, kernel)
	}); err != nil {
		return g.failf("router still has routes: %v", err)
	}
	g.ok("router: BIRD's tables are empty (birdc show route all)")
	g.ok("router: ip -6 route show proto bird → (nothing)")
	return nil
}

// curl returns a fetcher running the real curl inside ns. Its error is
// curl's message.
func (l *lab) curl(ns *netns.NS) fetcher {
	return func(ctx context.Context, url string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name(),
			"curl", "-sS", "-g", "--connect-timeout", "3", "--max-time", "5", url).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s (%w)", bytes.TrimSpace(out), err)
		}
		return string(out), nil
	}
}

// waitFor polls cond until it holds, ctx ends or timeout passes; the error
// carries cond's last explanation.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ctx.Err(), strings.TrimSpace(why))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
