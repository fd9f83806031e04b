package bgp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"testing"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/internal/netns"
	"github.com/lbkit/lbkit/selector"
)

func TestMain(m *testing.M) {
	netns.Helpers["bgp-node"] = nodeMain
	netns.Main(m)
}

// The node helper runs a Speaker inside the node namespace (a re-executed
// test binary) and answers calls (netns.Serve): the op is nodeRequest.Op,
// the argument the nodeRequest, the result a nodeResponse.
type nodeRequest struct {
	Op      string // new, addpeer, updatepeer, removepeer, announce, withdraw, bulk, close, closegraceful, peers
	Config  *nodeConfig
	Peer    *bgp.Peer
	Addr    netip.Addr
	Service *announce.Service
	Key     string
	N       int // bulk: announce N IPv4 and N IPv6 single-address services
	// Selector is Peer.Selector for addpeer and updatepeer (a Selector
	// does not travel as JSON).
	Selector string
}

type nodeConfig struct {
	ASN      uint32
	RouterID netip.Addr
	Rules    []nodeRule
}

type nodeRule struct {
	Selector string
	bgp.Attributes
}

type nodeResponse struct {
	Peers []bgp.PeerStatus
}

func nodeMain() int {
	var s *bgp.Speaker
	defer func() {
		if s != nil {
			_ = s.Close()
		}
	}()
	return netns.Serve(func(ctx context.Context, call netns.Request) (any, error) {
		var req nodeRequest
		if err := call.Decode(&req); err != nil {
			return nil, err
		}
		var resp nodeResponse
		var err error
		s, resp.Peers, err = nodeDo(ctx, s, req)
		return resp, err
	})
}

func nodeDo(ctx context.Context, s *bgp.Speaker, req nodeRequest) (*bgp.Speaker, []bgp.PeerStatus, error) {
	if req.Op != "new" && s == nil {
		return s, nil, errors.New("no speaker")
	}
	switch req.Op {
	case "new":
		cfg := bgp.Config{ASN: req.Config.ASN, RouterID: req.Config.RouterID,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		for _, r := range req.Config.Rules {
			sel, err := selector.Parse(r.Selector)
			if err != nil {
				return s, nil, err
			}
			cfg.Rules = append(cfg.Rules, bgp.Rule{Selector: sel, Attributes: r.Attributes})
		}
		n, err := bgp.New(ctx, cfg)
		return n, nil, err
	case "addpeer", "updatepeer":
		sel, err := selector.Parse(req.Selector)
		if err != nil {
			return s, nil, err
		}
		p := *req.Peer
		p.Selector = sel
		if req.Op == "addpeer" {
			return s, nil, s.AddPeer(ctx, p)
		}
		return s, nil, s.UpdatePeer(ctx, p)
	case "removepeer":
		return s, nil, s.RemovePeer(ctx, req.Addr)
	case "announce":
		return s, nil, s.Announce(ctx, *req.Service)
	case "withdraw":
		return s, nil, s.Withdraw(ctx, req.Key)
	case "bulk":
		return s, nil, announceBulk(ctx, s, req.N)
	case "close":
		return s, nil, s.Close()
	case "closegraceful":
		return s, nil, s.CloseGraceful()
	case "peers":
		ps, err := s.Peers(ctx)
		return s, ps, err
	}
	return s, nil, fmt.Errorf("unknown op %q", req.Op)
}

// bulkServices returns n IPv4 and n IPv6 single-address services, with
// addresses in 10.128.0.0/9 and 2001:db8:b000::/64.
func bulkServices(n int) []announce.Service {
	out := make([]announce.Service, 0, 2*n)
	for i := range n {
		v4 := netip.AddrFrom4([4]byte{10, 128 + byte(i>>16), byte(i >> 8), byte(i)})
		v6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xb0, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)})
		out = append(out,
			announce.Service{Key: fmt.Sprintf("bulk/v4-%d", i), Addrs: []netip.Addr{v4}},
			announce.Service{Key: fmt.Sprintf("bulk/v6-%d", i), Addrs: []netip.Addr{v6}})
	}
	return out
}

func announceBulk(ctx context.Context, s *bgp.Speaker, n int) error {
	for _, svc := range bulkServices(n) {
		if err := s.Announce(ctx, svc); err != nil {
			return err
		}
	}
	return nil
}

// nodeProc is the parent's handle on a node helper.
type nodeProc struct {
	t     testing.TB
	pid   int // the helper's process, for SIGSTOP and SIGCONT
	child *netns.Child
}

// startNode starts the node helper in ns, with a speaker made from cfg.
// The helper ends (closing the speaker) in t.Cleanup, or with stop.
func startNode(t testing.TB, ns *netns.NS, cfg nodeConfig) *nodeProc {
	t.Helper()
	child, err := ns.StartChild(context.Background(), ns.Helper("bgp-node"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Close() })
	n := &nodeProc{t: t, pid: child.Pid(), child: child}
	n.must(nodeRequest{Op: "new", Config: &cfg})
	return n
}

// stop ends the helper; it closes its speaker first.
func (n *nodeProc) stop() { _ = n.child.Close() }

// call sends req and returns the response; an error response is returned
// as an error.
func (n *nodeProc) call(req nodeRequest) (nodeResponse, error) {
	var resp nodeResponse
	err := n.child.Call(context.Background(), req.Op, req, &resp)
	return resp, err
}

func (n *nodeProc) must(req nodeRequest) nodeResponse {
	n.t.Helper()
	resp, err := n.call(req)
	if err != nil {
		n.t.Fatalf("node %s: %v", req.Op, err)
	}
	return resp
}

// peerState returns the node speaker's view of peer addr.
func (n *nodeProc) peerState(addr netip.Addr) bgp.PeerState {
	n.t.Helper()
	for _, p := range n.must(nodeRequest{Op: "peers"}).Peers {
		if p.Address == addr {
			return p.State
		}
	}
	return bgp.StateUnknown
}
