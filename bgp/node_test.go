package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/internal/netns"
	"github.com/lbkit/lbkit/selector"
)

func TestMain(m *testing.M) {
	netns.Helpers["bgp-node"] = nodeMain
	netns.Main(m)
}

// The node helper runs a Speaker inside the node namespace (a re-executed
// test binary) and obeys JSON requests, one per line on stdin, answering
// each with one JSON line on stdout.
type nodeRequest struct {
	Op      string // new, addpeer, updatepeer, removepeer, announce, withdraw, bulk, close, closegraceful, peers
	Config  *nodeConfig
	Peer    *Peer
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
	Attributes
}

type nodeResponse struct {
	Err     string
	Peers   []PeerStatus
	Elapsed time.Duration
}

func nodeMain() int {
	ctx := context.Background()
	var s *Speaker
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	enc := json.NewEncoder(os.Stdout)
	for {
		var req nodeRequest
		if err := dec.Decode(&req); err != nil {
			if s != nil {
				_ = s.Close()
			}
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "bgp-node:", err)
			return 1
		}
		var resp nodeResponse
		start := time.Now()
		var err error
		s, resp.Peers, err = nodeDo(ctx, s, req)
		resp.Elapsed = time.Since(start)
		if err != nil {
			resp.Err = err.Error()
		}
		if err := enc.Encode(resp); err != nil {
			return 1
		}
	}
}

func nodeDo(ctx context.Context, s *Speaker, req nodeRequest) (*Speaker, []PeerStatus, error) {
	if req.Op != "new" && s == nil {
		return s, nil, errors.New("no speaker")
	}
	switch req.Op {
	case "new":
		cfg := Config{ASN: req.Config.ASN, RouterID: req.Config.RouterID,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		for _, r := range req.Config.Rules {
			sel, err := selector.Parse(r.Selector)
			if err != nil {
				return s, nil, err
			}
			cfg.Rules = append(cfg.Rules, Rule{Selector: sel, Attributes: r.Attributes})
		}
		n, err := New(ctx, cfg)
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

func announceBulk(ctx context.Context, s *Speaker, n int) error {
	for _, svc := range bulkServices(n) {
		if err := s.Announce(ctx, svc); err != nil {
			return err
		}
	}
	return nil
}

// nodeProc is the parent's handle on a node helper.
type nodeProc struct {
	t    testing.TB
	pid  int    // the helper's process, for SIGSTOP and SIGCONT
	stop func() // ends the helper (its stdin closes, it closes the speaker)
	enc  *json.Encoder
	dec  *json.Decoder
}

// startNode starts the node helper in ns, with a speaker made from cfg.
func startNode(t testing.TB, ns *netns.NS, cfg nodeConfig) *nodeProc {
	t.Helper()
	cmd := ns.Helper("bgp-node")
	cmd.Stdout = nil // replaced by the pipe
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Start(cmd); err != nil {
		t.Fatal(err)
	}
	stop := func() { in.Close(); ns.Stop(cmd) }
	t.Cleanup(stop)
	n := &nodeProc{t: t, pid: cmd.Process.Pid, stop: stop, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}
	n.must(nodeRequest{Op: "new", Config: &cfg})
	return n
}

// call sends req and returns the response; an error response is returned
// as an error.
func (n *nodeProc) call(req nodeRequest) (nodeResponse, error) {
	var resp nodeResponse
	if err := n.enc.Encode(req); err != nil {
		return resp, err
	}
	if err := n.dec.Decode(&resp); err != nil {
		return resp, err
	}
	if resp.Err != "" {
		return resp, errors.New(resp.Err)
	}
	return resp, nil
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
func (n *nodeProc) peerState(addr netip.Addr) PeerState {
	n.t.Helper()
	for _, p := range n.must(nodeRequest{Op: "peers"}).Peers {
		if p.Address == addr {
			return p.State
		}
	}
	return StateUnknown
}
