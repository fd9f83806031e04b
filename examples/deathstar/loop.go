package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/bgp/bgptest"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/l2/l2test"
)

// The default mode's cast, all in this process on loopback.
var (
	lo4     = netip.MustParseAddr("127.0.0.1")
	lo6     = netip.MustParseAddr("::1")
	nodeMAC = net.HardwareAddr{0x02, 0xd5, 0x00, 0x00, 0x00, 0x01}
	hostMAC = net.HardwareAddr{0x02, 0xd5, 0x00, 0x00, 0x00, 0x0a}
	hostIP  = netip.MustParseAddr("172.18.255.10")
)

const (
	segIface   = "seg0"                 // the node's interface on the in-memory segment
	waitRoutes = 15 * time.Second       // how long to wait for the router to learn or drop routes
	arpTimeout = 500 * time.Millisecond // how long the host waits for an ARP reply
	arpTries   = 3                      // how many requests it sends before giving up
)

// loopNode is the node's data plane in default mode: the HTTP API on its
// loopback addresses, standing in for port 80 of the service addresses.
type loopNode struct {
	listen map[netip.Addr]string // node address → where its port 80 listens
	srv    *http.Server
}

func startLoopNode() (*loopNode, error) {
	n := &loopNode{listen: map[netip.Addr]string{}, srv: &http.Server{Handler: apiHandler(), ReadHeaderTimeout: 5 * time.Second}}
	for _, a := range []netip.Addr{lo4, lo6} {
		l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			n.close()
			return nil, fmt.Errorf("node: listen on %v (the default mode needs IPv4 and IPv6 loopback): %w", a, err)
		}
		n.listen[a] = l.Addr().String()
		go func() { _ = n.srv.Serve(l) }()
	}
	return n, nil
}

func (n *loopNode) close() { _ = n.srv.Close() }

// dialVia returns how a packet for the service reaches the node once the
// network has chosen next hop nh: the connection goes to the node's address
// nh, port 80 (where the API listens on loopback).
func (n *loopNode) dialVia(ctx context.Context, nh netip.Addr) (net.Conn, error) {
	where, ok := n.listen[nh]
	if !ok {
		return nil, fmt.Errorf("next hop %v is not the node", nh)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", where)
}

// bgpClient is the client behind the router: it reaches an address only if
// the router has a route to it.
func bgpClient(r *bgptest.Router, n *loopNode) dialFunc {
	return func(ctx context.Context, _, addr string) (net.Conn, error) {
		dst, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, err
		}
		rt, ok, err := r.Lookup(ctx, dst.Addr())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("router: no route to host %v", dst.Addr())
		}
		return n.dialVia(ctx, rt.NextHop)
	}
}

// arpClient is the host on the node's segment: it reaches an address only
// if someone answers ARP for it with the node's MAC.
func arpClient(h *l2test.Host, n *loopNode) dialFunc {
	return func(ctx context.Context, _, addr string) (net.Conn, error) {
		dst, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, err
		}
		mac, err := resolve(ctx, h, dst.Addr())
		if err != nil {
			return nil, err
		}
		if mac.String() != nodeMAC.String() {
			return nil, fmt.Errorf("%v is at %v, which is not the node", dst.Addr(), mac)
		}
		return n.dialVia(ctx, lo4)
	}
}

// errNoARPReply reports that nobody on the segment answered.
var errNoARPReply = errors.New("no ARP reply")

// resolve asks the host's segment who has ip, up to arpTries times,
// waiting arpTimeout for a reply each time, as the host's kernel would.
func resolve(ctx context.Context, h *l2test.Host, ip netip.Addr) (net.HardwareAddr, error) {
	for range arpTries {
		mac, err := h.Resolve(ctx, ip, arpTimeout)
		if !errors.Is(err, l2test.ErrNoReply) {
			return mac, err
		}
	}
	return nil, fmt.Errorf("who-has %v: %w within %d × %v", ip, errNoARPReply, arpTries, arpTimeout)
}

// gratuitousARP returns the gratuitous ARP the host has seen, as
// "ip is-at mac".
func gratuitousARP(h *l2test.Host) []string {
	var ga []string
	for _, a := range h.Announcements() {
		if a.Addr.Is4() {
			ga = append(ga, a.String())
		}
	}
	return ga
}

// loopStory is the default mode's state.
type loopStory struct {
	g      *guide
	cfg    Config
	log    *slog.Logger
	m      *ipam.Manager
	svc    announce.Service
	node   *loopNode
	router *bgptest.Router
	bgpAnn announce.Announcer
	ann    announce.Announcer // what the controller calls: bgp, then bgp+l2
	seg    *l2test.Segment    // the node's L2 segment: a hub in memory
	host   *l2test.Host
}

// RunLoop tells the story in this process, unprivileged, on loopback, with
// the manifests in dir. It returns nil only if every step behaved.
func RunLoop(ctx context.Context, w io.Writer, dir string, log *slog.Logger) (err error) {
	cfg, err := LoadManifests(dir)
	if err != nil {
		return err
	}
	s := &loopStory{g: &guide{w: w}, cfg: cfg, log: log, m: ipam.NewManager()}
	defer s.close()
	fmt.Fprintf(w, "Death Star, default mode: one process, loopback, no privileges.\n")
	for _, step := range []func(context.Context) error{s.pool, s.assign, s.bgpUnlabelled, s.bgpLabelled, s.l2, s.shutdown} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nEvery step behaved as the story says.\n")
	return nil
}

func (s *loopStory) close() {
	if s.ann != nil {
		_ = s.ann.Close()
	}
	if s.host != nil {
		_ = s.host.Close()
	}
	if s.router != nil {
		_ = s.router.Close()
	}
	if s.node != nil {
		s.node.close()
	}
}

func (s *loopStory) pool(context.Context) error { return explainPool(s.g, s.m, s.cfg) }

func (s *loopStory) assign(context.Context) (err error) {
	s.svc, err = assignService(s.g, s.m)
	return err
}

// bgpUnlabelled is step 3.
func (s *loopStory) bgpUnlabelled(ctx context.Context) error {
	g, pol := s.g, s.cfg.BGP
	g.step("%s", bgpTitle(s.cfg))
	var err error
	if s.node, err = startLoopNode(); err != nil {
		return g.failf("%v", err)
	}
	peer := pol.Peers[0]
	if s.router, err = startLoopRouter(ctx, lo4, peer.ASN, pol.ASN); err != nil {
		return g.failf("%v", err)
	}
	g.say("router: in-process GoBGP, AS %d, on %v:%d (the lab's router is %v)", peer.ASN, lo4, s.router.Port(), peer.Address)
	speaker, err := bgp.New(ctx, bgp.Config{ASN: pol.ASN, RouterID: pol.RouterID, ListenPort: -1, Logger: s.log})
	if err != nil {
		return g.failf("bgp.New: %v", err)
	}
	s.bgpAnn = announce.Select(pol.Selector, speaker)
	s.ann = s.bgpAnn
	peer.Address, peer.Port = lo4, s.router.Port()
	peer.Families = []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}
	peer.NextHopIPv6 = lo6 // IPv6 routes over an IPv4 session need an IPv6 next hop
	if err := speaker.AddPeer(ctx, peer); err != nil {
		return g.failf("AddPeer: %v", err)
	}
	st, err := waitEstablished(ctx, speaker, peer.Address)
	if err != nil {
		return g.failf("%v", err)
	}
	g.ok("speaker AS %d ↔ router AS %d: %v", pol.ASN, peer.ASN, st.State)
	if err := s.ann.Announce(ctx, s.svc); err != nil {
		return g.failf("Announce: %v", err)
	}
	g.say("controller: Announce(%s, labels %s, %v)", s.svc.Key, labelString(s.svc.Labels), s.svc.Addrs)
	_, v6 := families(s.svc.Addrs)
	time.Sleep(300 * time.Millisecond) // give a wrong announcement time to show
	if err := s.expectNoRoute(ctx, speaker, v6); err != nil {
		return err
	}
	return nil
}

// expectNoRoute checks that the speaker sent nothing and the client cannot
// reach the service.
func (s *loopStory) expectNoRoute(ctx context.Context, speaker *bgp.Speaker, v6 netip.Addr) error {
	g := s.g
	ps, err := speaker.Peers(ctx)
	if err != nil || len(ps) != 1 || ps[0].Sent != 0 {
		return g.failf("speaker peers %+v (%v), want one peer and 0 routes sent", ps, err)
	}
	g.ok("speaker sent %d routes: the service is not labelled %s", ps[0].Sent, s.cfg.BGP.Selector)
	return expectUnreachable(ctx, g, "client", serviceURL(v6), "the label", via(bgpClient(s.router, s.node)))
}

// bgpLabelled is step 4.
func (s *loopStory) bgpLabelled(ctx context.Context) error {
	g := s.g
	s.svc.Labels["announced"] = "bgp"
	g.step("%s", labelTitle())
	if err := s.ann.Announce(ctx, s.svc); err != nil {
		return g.failf("Announce: %v", err)
	}
	g.say("controller: Announce(%s, labels %s, %v)", s.svc.Key, labelString(s.svc.Labels), s.svc.Addrs)
	v4, v6 := families(s.svc.Addrs)
	want := []netip.Prefix{netip.PrefixFrom(v4, 32), netip.PrefixFrom(v6, 128)}
	rts, err := waitTable(ctx, s.router, func(rts []bgptest.Route) bool { return slices.Equal(prefixes(rts), want) })
	if err != nil {
		return g.failf("router table: %v", err)
	}
	for _, rt := range rts {
		g.ok("router learned %v via %v", rt.Prefix, rt.NextHop)
	}
	return expectReachable(ctx, g, "client", serviceURL(v6), via(bgpClient(s.router, s.node)))
}

// l2 is step 5.
func (s *loopStory) l2(ctx context.Context) error {
	g, pol := s.g, s.cfg.L2
	v4, _ := families(s.svc.Addrs)
	g.step("%s", l2Title(v4))
	s.seg = &l2test.Segment{}
	var err error
	if s.host, err = l2test.NewHost(s.seg, hostMAC, hostIP); err != nil {
		return g.failf("host: %v", err)
	}
	host := "host " + hostIP.String()
	if err := expectUnreachable(ctx, g, host, serviceURL(v4), "L2 announcements", via(arpClient(s.host, s.node))); err != nil {
		return err
	}
	if !pol.Selects(segIface) {
		return g.failf("L2 policy %s selects interfaces %q, not the node's %s", pol.Name, pol.Interfaces, segIface)
	}
	link := l2.Link{Interface: &net.Interface{Index: 2, Name: segIface, HardwareAddr: nodeMAC}, Conn: s.seg.Attach()}
	l2ann, err := l2.NewWithLinks(ctx, l2.Config{Gratuitous: l2.Gratuitous{Count: 1}, Logger: s.log}, link)
	if err != nil {
		return g.failf("l2.NewWithLinks: %v", err)
	}
	s.ann = announce.Multi(s.bgpAnn, announce.Select(pol.Selector, l2ann))
	g.say("L2 announcer on %s (%v), policy %s: announce.Multi(bgp, announce.Select(%s, l2))", segIface, nodeMAC, pol.Name, pol.Selector)
	if err := s.ann.Announce(ctx, s.svc); err != nil {
		return g.failf("Announce: %v", err)
	}
	mac, err := resolve(ctx, s.host, v4)
	if err != nil {
		return g.failf("host: %v", err)
	}
	g.ok("host: ARP who-has %v tell %v → reply: %v is-at %v", v4, hostIP, v4, mac)
	if err := expectReachable(ctx, g, host, serviceURL(v4), via(arpClient(s.host, s.node))); err != nil {
		return err
	}
	if ga := gratuitousARP(s.host); len(ga) > 0 {
		g.say("(the host also saw %d gratuitous ARP: %s)", len(ga), ga[0])
	}
	return nil
}

// shutdown is step 6.
func (s *loopStory) shutdown(ctx context.Context) error {
	g := s.g
	g.step("%s", shutdownTitle())
	if err := s.ann.Close(); err != nil {
		return g.failf("Close: %v", err)
	}
	g.ok("announcers closed (bgp withdrew its routes, l2 stopped answering)")
	if _, err := waitTable(ctx, s.router, func(rts []bgptest.Route) bool { return len(rts) == 0 }); err != nil {
		return g.failf("router table: %v", err)
	}
	g.ok("router table empty")
	v4, _ := families(s.svc.Addrs)
	if mac, err := resolve(ctx, s.host, v4); !errors.Is(err, errNoARPReply) {
		return g.failf("host: ARP for %v after shutdown: %v, %v; want no reply", v4, mac, err)
	}
	g.ok("host: ARP who-has %v → no reply", v4)
	if err := s.m.Release(serviceKey); err != nil {
		return g.failf("Release: %v", err)
	}
	g.ok("ipam.Manager.Release(%s): addresses back in %s", serviceKey, s.cfg.Pool.Name)
	return nil
}

// waitEstablished waits until the speaker's session to addr is established.
func waitEstablished(ctx context.Context, sp *bgp.Speaker, addr netip.Addr) (bgp.PeerStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ps, err := sp.Peers(ctx)
		if err == nil {
			for _, p := range ps {
				if p.Address == addr && p.State == bgp.StateEstablished {
					return p, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return bgp.PeerStatus{}, fmt.Errorf("session to %v not established: %+v: %w", addr, ps, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// unwrapURL drops net/http's "Get <url>:" prefix from an error.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
