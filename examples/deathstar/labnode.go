package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/internal/netns"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/l2"
)

// The lab's node runs in the node namespace, in a child process: the example
// (or its test binary) re-executed under `ip netns exec`, so that GoBGP's
// sockets, the AF_PACKET sockets of the L2 announcer and the HTTP listener
// all open inside the namespace. The parent drives it with one command per
// line on stdin; the node prints the guide's lines and then "@ok [data]"
// or "@fail reason" on stdout.

// labNodeHelper is the helper name the node runs under (internal/netns's
// re-exec switch: netns.HelperName).
const labNodeHelper = "deathstar-node"

// labNodeEnv carries the manifests directory to the node; labVerboseEnv
// asks it to log at debug level (deathstar -lab -v).
const (
	labNodeEnv    = "DEATHSTAR_MANIFESTS"
	labVerboseEnv = "DEATHSTAR_VERBOSE"
	labIDEnv      = "DEATHSTAR_LAB" // the lab's temporary directory, naming its processes
)

// isLabNode reports whether this process is the lab's node.
func isLabNode() bool { return netns.HelperName() == labNodeHelper }

// labNodeMain runs the node until stdin closes.
func labNodeMain() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	level := slog.LevelWarn
	if os.Getenv(labVerboseEnv) != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	n := &labNode{g: &guide{w: os.Stdout, quiet: true}, log: log, m: ipam.NewManager(ipam.WithLogger(log))}
	defer n.close()
	var err error
	if n.cfg, err = LoadManifests(os.Getenv(labNodeEnv)); err != nil {
		fmt.Printf("@fail %v\n", err)
		return 1
	}
	cmds := map[string]func(context.Context) (string, error){
		"pool": n.pool, "assign": n.assign, "bgp": n.bgp, "label": n.label, "l2": n.l2, "close": n.shutdown,
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, ok := cmds[in.Text()]
		if !ok {
			fmt.Printf("@fail unknown command %q\n", in.Text())
			continue
		}
		data, err := cmd(ctx)
		if err != nil {
			fmt.Printf("@fail %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Printf("@ok %s\n", data)
	}
	return 0
}

// labNode is the node's state.
type labNode struct {
	g      *guide
	log    *slog.Logger
	cfg    Config
	m      *ipam.Manager
	svc    announce.Service
	srv    *http.Server
	bgpAnn announce.Announcer
	ann    announce.Announcer
	onLo   []netip.Addr
}

func (n *labNode) pool(context.Context) (string, error) { return "", explainPool(n.g, n.m, n.cfg) }

func (n *labNode) assign(context.Context) (string, error) {
	var err error
	n.svc, err = assignService(n.g, n.m)
	v4, v6 := families(n.svc.Addrs)
	return v4.String() + " " + v6.String(), err
}

// bgp puts the service addresses on lo, serves the API on port 80, starts
// the speaker, and announces the (unlabelled) service through Select.
func (n *labNode) bgp(ctx context.Context) (string, error) {
	g, pol := n.g, n.cfg.BGP
	for _, a := range n.svc.Addrs {
		if out, err := exec.Command("ip", "addr", "add", netip.PrefixFrom(a, a.BitLen()).String(), "dev", "lo", "nodad").CombinedOutput(); err != nil {
			return "", fmt.Errorf("ip addr add %v dev lo: %v: %s", a, err, out)
		}
		n.onLo = append(n.onLo, a)
	}
	g.say("node: %v on lo (arp_ignore=1, arp_announce=2: the kernel keeps quiet about them)", n.svc.Addrs)
	l, err := net.Listen("tcp", ":80")
	if err != nil {
		return "", err
	}
	n.srv = &http.Server{Handler: apiHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = n.srv.Serve(l) }()
	g.say("node: Death Star API on port 80")
	speaker, err := bgp.New(ctx, bgp.Config{ASN: pol.ASN, RouterID: pol.RouterID, ListenPort: -1, Logger: n.log})
	if err != nil {
		return "", err
	}
	n.bgpAnn = announce.Select(pol.Selector, speaker)
	n.ann = n.bgpAnn
	for _, p := range pol.Peers {
		if err := speaker.AddPeer(ctx, p); err != nil {
			return "", err
		}
		st, err := waitEstablished(ctx, speaker, p.Address)
		if err != nil {
			return "", err
		}
		g.ok("speaker AS %d ↔ router %v AS %d: %v", pol.ASN, p.Address, p.ASN, st.State)
	}
	if err := n.ann.Announce(ctx, n.svc); err != nil {
		return "", err
	}
	g.say("controller: Announce(%s, labels %s, %v)", n.svc.Key, labelString(n.svc.Labels), n.svc.Addrs)
	time.Sleep(300 * time.Millisecond) // give a wrong announcement time to show
	ps, err := speaker.Peers(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if p.Sent != 0 {
			return "", fmt.Errorf("speaker sent %d routes to %v before the label", p.Sent, p.Address)
		}
	}
	g.ok("speaker sent 0 routes: the service is not labelled %s", pol.Selector)
	return "", nil
}

func (n *labNode) label(ctx context.Context) (string, error) {
	n.svc.Labels["announced"] = "bgp"
	if err := n.ann.Announce(ctx, n.svc); err != nil {
		return "", err
	}
	n.g.say("controller: Announce(%s, labels %s, %v)", n.svc.Key, labelString(n.svc.Labels), n.svc.Addrs)
	return "", nil
}

func (n *labNode) l2(ctx context.Context) (string, error) {
	pol := n.cfg.L2
	a, err := l2.New(ctx, l2.Config{Interfaces: pol.Interfaces, Logger: n.log})
	if err != nil {
		return "", err
	}
	n.ann = announce.Multi(n.bgpAnn, announce.Select(pol.Selector, a))
	if err := n.ann.Announce(ctx, n.svc); err != nil {
		return "", err
	}
	n.g.say("node: L2 announcer on %v (policy %s, interfaces %q): announce.Multi(bgp, announce.Select(%s, l2))",
		a.Interfaces(), pol.Name, pol.Interfaces, pol.Selector)
	if len(a.Interfaces()) == 0 {
		return "", errors.New("the L2 policy selects none of the node's interfaces")
	}
	return "", nil
}

func (n *labNode) shutdown(context.Context) (string, error) {
	if n.ann == nil {
		return "", nil
	}
	err := n.ann.Close()
	n.ann = nil
	if err == nil {
		n.g.ok("node: announcers closed (bgp withdrew its routes, l2 stopped answering)")
	}
	return "", err
}

// close undoes everything, whatever state the node is in.
func (n *labNode) close() {
	if n.ann != nil {
		_ = n.ann.Close()
	}
	if n.srv != nil {
		_ = n.srv.Close()
	}
	for _, a := range n.onLo {
		_ = exec.Command("ip", "addr", "del", netip.PrefixFrom(a, a.BitLen()).String(), "dev", "lo").Run()
	}
}

// nodeConn is the parent's end of the node's command protocol.
type nodeConn struct {
	in  io.WriteCloser
	out *bufio.Scanner
	w   io.Writer // where the node's guide lines go
}

// do sends cmd and copies the node's lines to w until its answer.
func (c *nodeConn) do(ctx context.Context, cmd string) (string, error) {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return "", fmt.Errorf("node: %w", err)
	}
	type line struct {
		text string
		ok   bool
	}
	for {
		ch := make(chan line, 1)
		go func() { ok := c.out.Scan(); ch <- line{c.out.Text(), ok} }()
		var l line
		select {
		case l = <-ch:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		switch {
		case !l.ok:
			return "", fmt.Errorf("node: exited during %q", cmd)
		case strings.HasPrefix(l.text, "@ok"):
			return strings.TrimSpace(strings.TrimPrefix(l.text, "@ok")), nil
		case strings.HasPrefix(l.text, "@fail"):
			return "", fmt.Errorf("node: %s: %s", cmd, strings.TrimSpace(strings.TrimPrefix(l.text, "@fail")))
		default:
			fmt.Fprintln(c.w, l.text)
		}
	}
}
