package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
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

func stateFromFSM(s bgp.FSMState) PeerState {
	if s < bgp.BGP_FSM_IDLE || s > bgp.BGP_FSM_ESTABLISHED {
		return StateUnknown
	}
	return StateIdle + PeerState(s-bgp.BGP_FSM_IDLE)
}

// PeerStatus is a neighbor's session as Peers reports it.
type PeerStatus struct {
	Address netip.Addr
	ASN     uint32
	State   PeerState
	// Uptime is how long the session has been established; 0 otherwise.
	Uptime time.Duration
	// Sent is the number of routes the speaker announces of the families
	// the session carries while it is established (0 otherwise); Received
	// the number of routes received and accepted (routes rejected as
	// AS-path loops, such as our own routes reflected back, are not
	// counted). Neither walks a routing table: polling Peers does not slow
	// Announce down.
	Sent, Received uint64
	// BFD is the state of the peer's BFD session; BFDOff without BFD.
	BFD BFDState
}

// Peers returns the status of every configured neighbor, sorted by
// address.
func (s *Speaker) Peers(ctx context.Context) ([]PeerStatus, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []PeerStatus
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		out = append(out, peerStatus(p))
	})
	if err != nil {
		return nil, fmt.Errorf("bgp: list peers: %w", err)
	}
	s.peerMu.Lock()
	defer s.peerMu.Unlock()
	for i := range out {
		out[i].BFD = s.bfdStateOf(out[i].Address)
		if p, ok := s.peers[out[i].Address]; ok && out[i].State == StateEstablished {
			counts := s.sentCounts(p.Address)
			for _, f := range p.families() {
				out[i].Sent += counts[f]
			}
		}
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
		st.Received += af.GetState().GetAccepted()
	}
	return st
}

// sentCounts returns the number of routes per family that go to the peer
// at addr: all, or those with its tag.
func (s *Speaker) sentCounts(addr netip.Addr) [IPv6Unicast + 1]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp, ok := s.selective[addr]
	if !ok {
		return s.counts
	}
	if n := s.tagCounts[sp.tag]; n != nil {
		return *n
	}
	return [IPv6Unicast + 1]uint64{}
}

// A PeerEvent reports that a peer's BGP session or BFD session changed
// state; it carries both states.
type PeerEvent struct {
	Address netip.Addr
	State   PeerState
	BFD     BFDState
	Time    time.Time
}

// Watch returns a channel of session state changes from now on. Events are
// queued without limit, never dropped, until the receiver takes them. When
// the speaker closes, the channel delivers the events queued so far
// (ending with each session's end) and is then closed; when ctx ends, it is
// closed at once. The goroutine feeding it ends when it is closed, so a
// receiver that stops reading early must cancel ctx.
func (s *Speaker) Watch(ctx context.Context) <-chan PeerEvent {
	return s.hub.subscribe(ctx)
}

// onEvent receives GoBGP's peer events, in GoBGP's watcher goroutine.
func (s *Speaker) onEvent(pe *apiutil.WatchEventMessage_PeerEvent, at time.Time) {
	if pe == nil || pe.Type != apiutil.PEER_EVENT_STATE {
		return
	}
	ev := PeerEvent{Address: pe.Peer.State.NeighborAddress, State: stateFromFSM(pe.Peer.State.SessionState), Time: time.Now()}
	if !ev.Address.IsValid() {
		return
	}
	if s.publish(ev) == StateEstablished && ev.State == StateIdle {
		s.reconnectLater(ev.Address, at)
	}
}

// publish logs a session event and passes it to the watchers, unless the
// speaker has stopped watching GoBGP. It returns the session's previous
// state.
func (s *Speaker) publish(ev PeerEvent) (prev PeerState) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	if s.evStopped {
		return StateUnknown
	}
	prev = s.lastState[ev.Address]
	ev.BFD = s.lastBFD[ev.Address]
	if ev.State == StateIdle {
		delete(s.lastState, ev.Address)
	} else {
		s.lastState[ev.Address] = ev.State
	}
	level := slog.LevelDebug
	if ev.State == StateEstablished || ev.State == StateIdle {
		level = slog.LevelInfo
	}
	s.log.Log(context.Background(), level, "bgp session", "peer", ev.Address, "state", ev.State)
	s.hub.publish(ev)
	return prev
}

// stopEvents stops passing GoBGP's events on. GoBGP may still hold events
// for its watcher when it stops; the sessions they report have ended, so
// stopEvents publishes an idle event for every session whose end the
// watchers have not seen, then closes the hub.
func (s *Speaker) stopEvents() {
	s.stopWatch()
	s.evMu.Lock()
	defer s.evMu.Unlock()
	if s.evStopped {
		return
	}
	s.evStopped = true
	now := time.Now()
	for _, a := range slices.SortedFunc(maps.Keys(s.lastState), netip.Addr.Compare) {
		s.hub.publish(PeerEvent{Address: a, State: StateIdle, BFD: s.lastBFD[a], Time: now})
	}
	s.hub.close()
}
