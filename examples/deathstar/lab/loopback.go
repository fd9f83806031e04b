package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/bgp/bgptest"
	"github.com/lbkit/lbkit/examples/deathstar/manifest"
	"github.com/lbkit/lbkit/l2"
	"github.com/lbkit/lbkit/l2/l2test"
)

// The loopback world's cast, all in this process.
var (
	lo4      = netip.MustParseAddr("127.0.0.1")
	lo6      = netip.MustParseAddr("::1")
	routerID = netip.MustParseAddr("10.255.0.1")
	nodeMAC  = net.HardwareAddr{0x02, 0xd5, 0x00, 0x00, 0x00, 0x01}
	hostMAC  = net.HardwareAddr{0x02, 0xd5, 0x00, 0x00, 0x00, 0x0a}
	hostIP   = netip.MustParseAddr("172.18.255.10")
)

const (
	segIface   = "seg0"                 // the node's interface on the in-memory segment
	waitRoutes = 15 * time.Second       // how long to wait for a router to learn or drop routes
	arpTimeout = 500 * time.Millisecond // how long the host waits for an ARP reply
	arpTries   = 3                      // how many requests it sends before giving up
)

// RunLoopback tells story in this process, unprivileged, on loopback, and
// prints it to out. It returns nil only if every step behaved.
func RunLoopback(ctx context.Context, out io.Writer, cfg manifest.Config, log *slog.Logger, story Story) error {
	w := &loopback{g: NewGuide(out), listen: map[netip.Addr]string{}}
	defer w.close()
	fmt.Fprintf(out, "Death Star, default mode: one process, loopback, no privileges.\n")
	if err := story(ctx, w, cfg, log); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nEvery step behaved as the story says.\n")
	return nil
}

// loopback is the in-memory world. The node's API listens on its loopback
// addresses, standing in for port 80 of the service addresses; a client
// reaches the node only through what the router or the segment tell it.
type loopback struct {
	g      *Guide
	listen map[netip.Addr]string // node address → where its port 80 listens
	srv    *http.Server
	router *bgptest.Router
	seg    l2test.Segment // the node's L2 segment: a hub in memory
	host   *l2test.Host
}

func (w *loopback) Guide() *Guide { return w.g }

func (w *loopback) close() {
	if w.host != nil {
		_ = w.host.Close()
	}
	if w.router != nil {
		_ = w.router.Close()
	}
	if w.srv != nil {
		_ = w.srv.Close()
	}
}

func (w *loopback) Router(ctx context.Context, pol manifest.BGPPolicy, _ []netip.Addr) (bgp.Peer, error) {
	w.srv = &http.Server{Handler: apiHandler(), ReadHeaderTimeout: 5 * time.Second}
	for _, a := range []netip.Addr{lo4, lo6} {
		l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			return bgp.Peer{}, fmt.Errorf("node: listen on %v (the default mode needs IPv4 and IPv6 loopback): %w", a, err)
		}
		w.listen[a] = l.Addr().String()
		go func() { _ = w.srv.Serve(l) }()
	}
	peer := pol.Peers[0]
	r, err := bgptest.NewRouter(ctx, bgptest.Config{ASN: peer.ASN, RouterID: routerID, ListenAddr: lo4})
	if err != nil {
		return bgp.Peer{}, fmt.Errorf("router: %w", err)
	}
	w.router = r
	if err := r.AddPeer(ctx, bgptest.Peer{Address: lo4, ASN: pol.ASN}); err != nil {
		return bgp.Peer{}, fmt.Errorf("router: %w", err)
	}
	w.g.Say("router: in-process GoBGP, AS %d, on %v:%d (the lab's router is %v)", peer.ASN, lo4, r.Port(), peer.Address)
	peer.Address, peer.Port = lo4, r.Port()
	peer.Families = []bgp.Family{bgp.IPv4Unicast, bgp.IPv6Unicast}
	peer.NextHopIPv6 = lo6 // IPv6 routes over an IPv4 session need an IPv6 next hop
	return peer, nil
}

func (w *loopback) ExpectNoRoute(ctx context.Context, addr netip.Addr) error {
	return expectUnreachable(ctx, w.g, "client", addr, "the label", via(w.client))
}

func (w *loopback) ExpectRoutes(ctx context.Context, v4, v6 netip.Addr) error {
	want := []netip.Prefix{netip.PrefixFrom(v4, 32), netip.PrefixFrom(v6, 128)}
	rts, err := w.waitTable(ctx, func(rts []bgptest.Route) bool {
		return slices.EqualFunc(rts, want, func(r bgptest.Route, p netip.Prefix) bool { return r.Prefix == p })
	})
	if err != nil {
		return w.g.Fail("router table: %v", err)
	}
	for _, rt := range rts {
		w.g.OK("router learned %v via %v", rt.Prefix, rt.NextHop)
	}
	return expectReachable(ctx, w.g, "client", v6, via(w.client))
}

func (w *loopback) ExpectHost(ctx context.Context, addr netip.Addr, reachable bool) error {
	if w.host == nil {
		var err error
		if w.host, err = l2test.NewHost(&w.seg, hostMAC, hostIP); err != nil {
			return w.g.Fail("host: %v", err)
		}
	}
	who := "host " + hostIP.String()
	if !reachable {
		return expectUnreachable(ctx, w.g, who, addr, "L2 announcements", via(w.hostDial))
	}
	mac, err := w.resolve(ctx, addr)
	if err != nil {
		return w.g.Fail("host: %v", err)
	}
	w.g.OK("host: ARP who-has %v tell %v → reply: %v is-at %v", addr, hostIP, addr, mac)
	if err := expectReachable(ctx, w.g, who, addr, via(w.hostDial)); err != nil {
		return err
	}
	var ga []string
	for _, a := range w.host.Announcements() {
		if a.Addr.Is4() {
			ga = append(ga, a.String())
		}
	}
	if len(ga) > 0 {
		w.g.Say("(the host also saw %d gratuitous ARP: %s)", len(ga), ga[0])
	}
	return nil
}

func (w *loopback) NewL2(ctx context.Context, cfg l2.Config) (*l2.Announcer, error) {
	if !(manifest.L2Policy{Interfaces: cfg.Interfaces}).Selects(segIface) {
		return nil, fmt.Errorf("l2: interfaces %q do not select the node's %s", cfg.Interfaces, segIface)
	}
	cfg.Gratuitous = l2.Gratuitous{Count: 1}
	link := l2.Link{Interface: &net.Interface{Index: 2, Name: segIface, HardwareAddr: nodeMAC}, Conn: w.seg.Attach()}
	return l2.NewWithLinks(ctx, cfg, link)
}

func (w *loopback) ExpectWithdrawn(ctx context.Context, addr netip.Addr) error {
	if _, err := w.waitTable(ctx, func(rts []bgptest.Route) bool { return len(rts) == 0 }); err != nil {
		return w.g.Fail("router table: %v", err)
	}
	w.g.OK("router table empty")
	if mac, err := w.resolve(ctx, addr); !errors.Is(err, errNoARPReply) {
		return w.g.Fail("host: ARP for %v after shutdown: %v, %v; want no reply", addr, mac, err)
	}
	w.g.OK("host: ARP who-has %v → no reply", addr)
	return nil
}

// waitTable waits until ok holds for the router's table (its best routes,
// sorted by prefix).
func (w *loopback) waitTable(ctx context.Context, ok func([]bgptest.Route) bool) ([]bgptest.Route, error) {
	ctx, cancel := context.WithTimeout(ctx, waitRoutes)
	defer cancel()
	return w.router.WaitRoutes(ctx, ok)
}

// dialNode connects to the node's address nh, port 80 (where the API
// listens on loopback).
func (w *loopback) dialNode(ctx context.Context, nh netip.Addr) (net.Conn, error) {
	where, ok := w.listen[nh]
	if !ok {
		return nil, fmt.Errorf("next hop %v is not the node", nh)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", where)
}

// client is how the client behind the router dials: it reaches an address
// only if the router has a route to it.
func (w *loopback) client(ctx context.Context, _, addr string) (net.Conn, error) {
	dst, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	rt, ok, err := w.router.Lookup(ctx, dst.Addr())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("router: no route to host %v", dst.Addr())
	}
	return w.dialNode(ctx, rt.NextHop)
}

// hostDial is how the host on the node's segment dials: it reaches an
// address only if someone answers ARP for it with the node's MAC.
func (w *loopback) hostDial(ctx context.Context, _, addr string) (net.Conn, error) {
	dst, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	mac, err := w.resolve(ctx, dst.Addr())
	if err != nil {
		return nil, err
	}
	if mac.String() != nodeMAC.String() {
		return nil, fmt.Errorf("%v is at %v, which is not the node", dst.Addr(), mac)
	}
	return w.dialNode(ctx, lo4)
}

// errNoARPReply reports that nobody on the segment answered.
var errNoARPReply = errors.New("no ARP reply")

// resolve asks the segment who has ip, up to arpTries times, waiting
// arpTimeout for a reply each time, as the host's kernel would.
func (w *loopback) resolve(ctx context.Context, ip netip.Addr) (net.HardwareAddr, error) {
	for range arpTries {
		mac, err := w.host.Resolve(ctx, ip, arpTimeout)
		if !errors.Is(err, l2test.ErrNoReply) {
			return mac, err
		}
	}
	return nil, fmt.Errorf("who-has %v: %w within %d × %v", ip, errNoARPReply, arpTries, arpTimeout)
}
