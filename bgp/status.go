package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// A PeerState is a BGP session state (RFC 4271 section 8).
type PeerState uint8

// The session states.
const (
	StateUnknown PeerState = iota
	StateIdle
	StateConnect
	StateActive
	StateOpenSent
	StateOpenConfirm
	StateEstablished
)

var stateNames = [...]string{"unknown", "idle", "connect", "active", "opensent", "openconfirm", "established"}

// String returns the state's lower-case name, such as "established".
func (s PeerState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "PeerState(" + strconv.Itoa(int(s)) + ")"
}

func stateFromAPI(s api.PeerState_SessionState) PeerState {
	if s < 0 || int(s) >= len(stateNames) {
		return StateUnknown
	}
	return PeerState(s) // the API's numbering is the same
}

// PeerStatus is a neighbor's session as Peers reports it.
type PeerStatus struct {
	Address netip.Addr
	ASN     uint32
	State   PeerState
	// Uptime is how long the session has been established; 0 otherwise.
	Uptime time.Duration
	// Sent is the number of routes advertised to the peer; Received the
	// number of routes received and accepted (routes rejected as AS-path
	// loops, such as our own routes reflected back, are not counted).
	Sent, Received uint64
}

// Peers returns the status of every configured neighbor, sorted by
// address.
func (s *Speaker) Peers(ctx context.Context) ([]PeerStatus, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	var out []PeerStatus
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		out = append(out, peerStatus(p))
	})
	if err != nil {
		return nil, fmt.Errorf("bgp: list peers: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b PeerStatus) int { return a.Address.Compare(b.Address) })
	return out, nil
}

func peerStatus(p *api.Peer) PeerStatus {
	var st PeerStatus
	st.Address, _ = netip.ParseAddr(p.GetConf().GetNeighborAddress())
	st.ASN = p.GetConf().GetPeerAsn()
	st.State = stateFromAPI(p.GetState().GetSessionState())
	if up := p.GetTimers().GetState().GetUptime(); st.State == StateEstablished && up != nil {
		st.Uptime = time.Since(up.AsTime()).Truncate(time.Second)
	}
	for _, af := range p.GetAfiSafis() {
		st.Sent += af.GetState().GetAdvertised()
		st.Received += af.GetState().GetAccepted()
	}
	return st
}

// A PeerEvent reports that a session changed state.
type PeerEvent struct {
	Address netip.Addr
	State   PeerState
	Time    time.Time
}

// Watch returns a channel of session state changes from now on. Events are
// queued without limit, never dropped, until the receiver takes them; the
// channel is closed when ctx ends or the speaker closes, and the goroutine
// feeding it ends then.
func (s *Speaker) Watch(ctx context.Context) <-chan PeerEvent {
	return s.hub.subscribe(ctx)
}

// onEvent receives GoBGP's watch events, in GoBGP's watcher goroutine.
func (s *Speaker) onEvent(r *api.WatchEventResponse) {
	pe := r.GetPeer()
	// GoBGP reports the end of a removed peer's session with type UNKNOWN.
	if t := pe.GetType(); pe == nil || (t != api.WatchEventResponse_PeerEvent_STATE && t != api.WatchEventResponse_PeerEvent_UNKNOWN) {
		return
	}
	addr, err := netip.ParseAddr(pe.GetPeer().GetState().GetNeighborAddress())
	if err != nil {
		return
	}
	ev := PeerEvent{Address: addr, State: stateFromAPI(pe.GetPeer().GetState().GetSessionState()), Time: time.Now()}
	level := slog.LevelDebug
	if ev.State == StateEstablished || ev.State == StateIdle {
		level = slog.LevelInfo
	}
	s.log.Log(context.Background(), level, "bgp session", "peer", ev.Address, "state", ev.State)
	s.hub.publish(ev)
}
