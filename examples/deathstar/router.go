package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// loopRouter is the default mode's upstream router: a plain GoBGP server on
// 127.0.0.1 and an unprivileged port, waiting for the node's speaker. The
// example uses GoBGP directly here; lbkit's API never exposes it.
type loopRouter struct {
	srv  *server.BgpServer
	addr netip.Addr
	port uint16
	asn  uint32
}

var (
	afiV4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	afiV6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

// startLoopRouter starts the router with AS asn on addr (a loopback
// address), on a free port.
func startLoopRouter(ctx context.Context, addr netip.Addr, asn uint32) (*loopRouter, error) {
	r := &loopRouter{srv: server.NewBgpServer(server.LoggerOption(quietLogger{})), addr: addr, asn: asn}
	go r.srv.Serve()
	var err error
	for range 5 { // a port found free may be taken again before GoBGP binds it
		if r.port, err = freePort(addr); err != nil {
			break
		}
		err = r.srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
			Asn: asn, RouterId: "10.255.0.1", ListenPort: int32(r.port), ListenAddresses: []string{addr.String()},
		}})
		if err == nil {
			return r, nil
		}
	}
	r.srv.Stop()
	return nil, fmt.Errorf("router: %w", err)
}

func freePort(addr netip.Addr) (uint16, error) {
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// addNeighbor waits for a session from addr with AS asn, carrying IPv4 and
// IPv6 unicast.
func (r *loopRouter) addNeighbor(ctx context.Context, addr netip.Addr, asn uint32) error {
	return r.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: addr.String(), PeerAsn: asn},
		Transport: &api.Transport{PassiveMode: true},
		AfiSafis: []*api.AfiSafi{
			{Config: &api.AfiSafiConfig{Family: afiV4, Enabled: true}},
			{Config: &api.AfiSafiConfig{Family: afiV6, Enabled: true}},
		},
	}})
}

// stop shuts the router down.
func (r *loopRouter) stop() {
	_ = r.srv.StopBgp(context.Background(), &api.StopBgpRequest{})
	r.srv.Stop()
}

// A route is a best path in the router's table.
type route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr
}

func (rt route) String() string { return fmt.Sprintf("%v via %v", rt.Prefix, rt.NextHop) }

// routes returns the best paths of the router's table, sorted.
func (r *loopRouter) routes(ctx context.Context) ([]route, error) {
	var out []route
	var bad error
	for _, f := range []*api.Family{afiV4, afiV6} {
		err := r.srv.ListPath(ctx, &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: f}, func(d *api.Destination) {
			for _, p := range d.Paths {
				if !p.Best {
					continue
				}
				rt, err := decodeRoute(d.Prefix, p)
				if err != nil {
					bad = errors.Join(bad, err)
					continue
				}
				out = append(out, rt)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Prefix.String() < out[j].Prefix.String() })
	return out, bad
}

func decodeRoute(prefix string, p *api.Path) (route, error) {
	pfx, err := netip.ParsePrefix(prefix)
	if err != nil {
		return route{}, err
	}
	attrs, err := apiutil.GetNativePathAttributes(p)
	if err != nil {
		return route{}, err
	}
	rt := route{Prefix: pfx}
	for _, a := range attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeNextHop:
			rt.NextHop, _ = netip.AddrFromSlice(a.Value)
		case *bgp.PathAttributeMpReachNLRI:
			rt.NextHop, _ = netip.AddrFromSlice(a.Nexthop)
		}
	}
	rt.NextHop = rt.NextHop.Unmap()
	return rt, nil
}

// lookup returns the longest-prefix match for dst in the router's table.
func (r *loopRouter) lookup(ctx context.Context, dst netip.Addr) (route, bool, error) {
	rts, err := r.routes(ctx)
	if err != nil {
		return route{}, false, err
	}
	best, found := route{}, false
	for _, rt := range rts {
		if rt.Prefix.Contains(dst) && (!found || rt.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = rt, true
		}
	}
	return best, found, nil
}

// quietLogger discards GoBGP's logs: the story prints what matters.
type quietLogger struct{}

func (quietLogger) Panic(msg string, _ gobgplog.Fields) { panic(msg) }
func (quietLogger) Fatal(msg string, _ gobgplog.Fields) { panic(msg) }
func (quietLogger) Error(string, gobgplog.Fields)       {}
func (quietLogger) Warn(string, gobgplog.Fields)        {}
func (quietLogger) Info(string, gobgplog.Fields)        {}
func (quietLogger) Debug(string, gobgplog.Fields)       {}
func (quietLogger) SetLevel(gobgplog.LogLevel)          {}
func (quietLogger) GetLevel() gobgplog.LogLevel         { return gobgplog.PanicLevel }
