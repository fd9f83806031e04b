package bgptest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	api "github.com/osrg/gobgp/v4/api"

	"github.com/lbkit/lbkit/bgp"
)

var (
	familyV4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyV6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

// A Peer is a neighbor of the router. Sessions carry IPv4 and IPv6 unicast
// routes; the router retries connections and restarts sessions after 1 s.
type Peer struct {
	// Address is the neighbor's address, IPv4 or IPv6 (not IPv4-mapped,
	// not zoned); required.
	Address netip.Addr
	// ASN is the neighbor's autonomous system number; required. The same
	// as the router's makes the session iBGP.
	ASN uint32
	// Active makes the router connect to the neighbor, on Port (179 if
	// 0). By default the router waits for the neighbor to connect.
	Active bool
	Port   uint16
	// EBGPMultihop, if nonzero, is the TTL of the router's packets on an
	// eBGP session with a neighbor that is not directly connected.
	EBGPMultihop uint8
	// GracefulRestart makes the router a graceful-restart helper (RFC
	// 4724) for the neighbor: when the session ends without a
	// notification, the router keeps the neighbor's routes, marked Stale,
	// for the restart time the neighbor announced.
	GracefulRestart bool
}

// gracefulRestartTime is the restart time the router announces.
const gracefulRestartTime = 120

func (p Peer) validate() error {
	switch {
	case !p.Address.IsValid():
		return fmt.Errorf("%w: no address", ErrInvalidPeer)
	case p.Address.Is4In6() || p.Address.Zone() != "":
		return fmt.Errorf("%w: %v: IPv4-mapped and zoned addresses are not supported", ErrInvalidPeer, p.Address)
	case p.ASN == 0:
		return fmt.Errorf("%w: %v: ASN 0", ErrInvalidPeer, p.Address)
	}
	return nil
}

func (p Peer) api() *api.Peer {
	ap := &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.ASN},
		Transport: &api.Transport{PassiveMode: !p.Active},
		Timers:    &api.Timers{Config: &api.TimersConfig{ConnectRetry: 1, IdleHoldTimeAfterReset: 1}},
	}
	if p.Active && p.Port != 0 {
		ap.Transport.RemotePort = uint32(p.Port)
	}
	if p.EBGPMultihop != 0 {
		ap.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(p.EBGPMultihop)}
	}
	if p.GracefulRestart {
		ap.GracefulRestart = &api.GracefulRestart{Enabled: true, RestartTime: gracefulRestartTime}
	}
	for _, f := range []*api.Family{familyV4, familyV6} {
		af := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: f, Enabled: true}}
		if p.GracefulRestart {
			af.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		ap.AfiSafis = append(ap.AfiSafis, af)
	}
	return ap
}

// AddPeer adds a neighbor. It returns ErrInvalidPeer for a bad peer and
// ErrPeerExists if the router has a neighbor with that address.
func (r *Router) AddPeer(ctx context.Context, p Peer) error {
	if err := p.validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return ErrClosed
	case r.hasPeer(p.Address):
		return fmt.Errorf("%w: %v", ErrPeerExists, p.Address)
	}
	if err := r.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: p.api()}); err != nil {
		return fmt.Errorf("bgptest: add peer %v: %w", p.Address, err)
	}
	r.peers[p.Address] = p
	return nil
}

// hasPeer reports whether addr is a neighbor; r.mu is held.
func (r *Router) hasPeer(addr netip.Addr) bool {
	_, ok := r.peers[addr]
	return ok
}

// RemovePeer removes the neighbor with address addr, closing its session
// with a CEASE notification; its routes leave the table. It returns
// ErrUnknownPeer if there is no such neighbor.
func (r *Router) RemovePeer(ctx context.Context, addr netip.Addr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return ErrClosed
	case !r.hasPeer(addr):
		return fmt.Errorf("%w: %v", ErrUnknownPeer, addr)
	}
	if err := r.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("bgptest: remove peer %v: %w", addr, err)
	}
	delete(r.peers, addr)
	return nil
}

// ResetPeer restarts the session with neighbor addr: the router sends a
// CEASE notification, drops the neighbor's routes and lets the session
// come back. It returns ErrUnknownPeer if there is no such neighbor.
func (r *Router) ResetPeer(ctx context.Context, addr netip.Addr) error {
	return r.use(func() error {
		if !r.hasPeer(addr) {
			return fmt.Errorf("%w: %v", ErrUnknownPeer, addr)
		}
		err := r.srv.ResetPeer(ctx, &api.ResetPeerRequest{Address: addr.String(), Communication: "bgptest: reset"})
		if err != nil {
			return fmt.Errorf("bgptest: reset peer %v: %w", addr, err)
		}
		return nil
	})
}

// PeerStatus is a neighbor's session as Peers reports it.
type PeerStatus struct {
	Address netip.Addr
	ASN     uint32
	// State is the session state (RFC 4271 section 8).
	State bgp.PeerState
	// Accepted is the number of routes received from the neighbor and
	// accepted.
	Accepted uint64
	// Updates is the number of UPDATE messages received from the
	// neighbor.
	Updates uint64
	// HoldTime is the hold time negotiated for the session; 0 when the
	// session is not established.
	HoldTime time.Duration
}

// Peers returns the status of every neighbor, sorted by address.
func (r *Router) Peers(ctx context.Context) ([]PeerStatus, error) {
	var out []PeerStatus
	err := r.use(func() error {
		return r.srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
			out = append(out, peerStatus(p))
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bgptest: peers: %w", err)
	}
	slices.SortFunc(out, func(a, b PeerStatus) int { return a.Address.Compare(b.Address) })
	return out, nil
}

func peerStatus(p *api.Peer) PeerStatus {
	st := PeerStatus{ASN: p.GetConf().GetPeerAsn()}
	st.Address, _ = netip.ParseAddr(p.GetConf().GetNeighborAddress())
	st.State = peerState(p.GetState().GetSessionState())
	for _, af := range p.GetAfiSafis() {
		st.Accepted += af.GetState().GetAccepted()
	}
	st.Updates = p.GetState().GetMessages().GetReceived().GetUpdate()
	if st.Established() {
		st.HoldTime = time.Duration(p.GetTimers().GetState().GetNegotiatedHoldTime()) * time.Second
	}
	return st
}

var peerStates = map[api.PeerState_SessionState]bgp.PeerState{
	api.PeerState_SESSION_STATE_IDLE:        bgp.StateIdle,
	api.PeerState_SESSION_STATE_CONNECT:     bgp.StateConnect,
	api.PeerState_SESSION_STATE_ACTIVE:      bgp.StateActive,
	api.PeerState_SESSION_STATE_OPENSENT:    bgp.StateOpenSent,
	api.PeerState_SESSION_STATE_OPENCONFIRM: bgp.StateOpenConfirm,
	api.PeerState_SESSION_STATE_ESTABLISHED: bgp.StateEstablished,
}

// peerState maps GoBGP's session state to bgp's; StateUnknown for a
// state GoBGP does not name.
func peerState(s api.PeerState_SessionState) bgp.PeerState {
	return peerStates[s] // StateUnknown is the zero value
}

// Established reports whether the session is established.
func (p PeerStatus) Established() bool { return p.State == bgp.StateEstablished }
