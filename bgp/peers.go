package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"time"

	api "github.com/osrg/gobgp/v4/api"
)

// AddPeer configures a neighbor; the session starts at once (or waits for
// the neighbor, if Passive). An invalid peer returns ErrInvalidPeer, an
// address already configured ErrPeerExists; neither changes anything.
func (s *Speaker) AddPeer(ctx context.Context, p Peer) error {
	if err := p.validate(); err != nil {
		return err
	}
	return s.withPeersCtx(ctx, func() error {
		if _, ok := s.peers[p.Address]; ok {
			return fmt.Errorf("%w: %v", ErrPeerExists, p.Address)
		}
		return s.addPeerLocked(ctx, p)
	})
}

// withPeersCtx runs f with peerMu held, unless ctx is done or the speaker
// is closed.
func (s *Speaker) withPeersCtx(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.withPeers(f)
}

// withPeers runs f with peerMu held, unless the speaker is closed.
func (s *Speaker) withPeers(f func() error) error {
	s.peerMu.Lock()
	defer s.peerMu.Unlock()
	if err := s.checkOpen(); err != nil {
		return err
	}
	return f()
}

func (s *Speaker) addPeerLocked(ctx context.Context, p Peer) error {
	next := withPeer(s.peers, p)
	if err := s.setPeerRouting(ctx, next, p); err != nil {
		return err
	}
	err := s.startBFD(ctx, p)
	if err == nil {
		if err = s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: s.apiPeer(p)}); err != nil {
			s.stopBFD(p.Address)
			err = fmt.Errorf("bgp: add peer %v: %w", p.Address, err)
		}
	}
	if err != nil {
		delete(next, p.Address)
		return errors.Join(err, s.setPeerRouting(ctx, next, Peer{Address: p.Address}))
	}
	s.peers[p.Address] = p
	s.addedAt[p.Address] = time.Now()
	return nil
}

// setPeerRouting makes the routes and policies fit peers, in which p (or,
// for a removed peer, its address) has changed: p's tag on the routes of
// the services its Selector matches, then the export policy. peerMu is
// held.
func (s *Speaker) setPeerRouting(ctx context.Context, peers map[netip.Addr]Peer, p Peer) error {
	s.mu.Lock()
	old, had := s.selective[p.Address]
	_, configured := peers[p.Address]
	var err error
	if configured && !p.Selector.IsEverything() {
		if !had {
			s.nextTag++
			old.tag = s.nextTag
		}
		s.selective[p.Address] = selectivePeer{sel: p.Selector, tag: old.tag}
		err = s.retag()
	} else if had {
		delete(s.selective, p.Address)
		err = s.retag()
	}
	tags := make(map[netip.Addr]uint32, len(s.selective))
	for a, sp := range s.selective {
		tags[a] = sp.tag
	}
	s.mu.Unlock()
	return errors.Join(err, s.applyPolicies(ctx, peers, tags))
}

// UpdatePeer replaces the configuration of the neighbor p.Address. A change
// of the next hops or the Selector alone is applied in place (routes are
// announced or withdrawn, or re-sent with the new next hop); any other
// change restarts the session. An unknown address returns ErrUnknownPeer.
func (s *Speaker) UpdatePeer(ctx context.Context, p Peer) error {
	if err := p.validate(); err != nil {
		return err
	}
	return s.withPeersCtx(ctx, func() error { return s.updatePeerLocked(ctx, p) })
}

func (s *Speaker) updatePeerLocked(ctx context.Context, p Peer) error {
	old, ok := s.peers[p.Address]
	if !ok {
		return fmt.Errorf("%w: %v", ErrUnknownPeer, p.Address)
	}
	if old.sameSession(p) {
		if err := s.setPeerRouting(ctx, withPeer(s.peers, p), p); err != nil {
			return err
		}
		s.peers[p.Address] = p
		// GoBGP re-evaluates the export policy for the peer: routes it now
		// rejects are withdrawn, the others re-sent (with a new next hop).
		err := s.srv.ResetPeer(ctx, &api.ResetPeerRequest{
			Address: p.Address.String(), Soft: true, Direction: api.ResetPeerRequest_DIRECTION_OUT,
		})
		if err != nil {
			s.log.Debug("soft reset after a peer update", "peer", p.Address, "err", err)
		}
		return nil
	}
	if err := s.removePeerLocked(ctx, old); err != nil {
		return err
	}
	if err := s.addPeerLocked(ctx, p); err != nil {
		// Put the old neighbor back, so that a failed update changes
		// nothing (its session restarts, though).
		if rerr := s.addPeerLocked(ctx, old); rerr != nil {
			return errors.Join(err, fmt.Errorf("bgp: restore peer %v: %w", old.Address, rerr))
		}
		return err
	}
	return nil
}

// RemovePeer closes the session to addr (with a CEASE) and forgets the
// neighbor. An unknown address returns ErrUnknownPeer.
func (s *Speaker) RemovePeer(ctx context.Context, addr netip.Addr) error {
	return s.withPeersCtx(ctx, func() error {
		p, ok := s.peers[addr]
		if !ok {
			return fmt.Errorf("%w: %v", ErrUnknownPeer, addr)
		}
		return s.removePeerLocked(ctx, p)
	})
}

func (s *Speaker) removePeerLocked(ctx context.Context, p Peer) error {
	if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: p.Address.String()}); err != nil {
		return fmt.Errorf("bgp: remove peer %v: %w", p.Address, err)
	}
	delete(s.peers, p.Address)
	s.stopBFD(p.Address)
	return s.setPeerRouting(ctx, s.peers, Peer{Address: p.Address})
}

func (s *Speaker) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

func (p Peer) hasNextHops() bool { return p.NextHopIPv4.IsValid() || p.NextHopIPv6.IsValid() }

// sameSession reports whether p and q differ at most in their next hops
// and selectors.
func (p Peer) sameSession(q Peer) bool {
	p.NextHopIPv4, p.NextHopIPv6, p.Selector = q.NextHopIPv4, q.NextHopIPv6, q.Selector
	p.Families, q.Families = p.families(), q.families()
	return reflect.DeepEqual(p, q)
}

func withPeer(peers map[netip.Addr]Peer, p Peer) map[netip.Addr]Peer {
	m := make(map[netip.Addr]Peer, len(peers)+1)
	for k, v := range peers {
		m[k] = v
	}
	m[p.Address] = p
	return m
}

func secs(d, def time.Duration) uint64 {
	if d == 0 {
		d = def
	}
	return uint64(d / time.Second)
}

// apiPeer returns GoBGP's configuration for p.
func (s *Speaker) apiPeer(p Peer) *api.Peer {
	retry := secs(p.ConnectRetry, DefaultConnectRetry)
	ap := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: p.Address.String(),
			PeerAsn:         p.ASN,
			LocalAsn:        s.cfg.ASN,
			AuthPassword:    p.Password,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry:           retry,
			IdleHoldTimeAfterReset: retry,
			HoldTime:               secs(p.HoldTime, 0),
			KeepaliveInterval:      secs(p.KeepaliveTime, 0),
		}},
		Transport: &api.Transport{
			RemotePort:  uint32(p.Port),
			PassiveMode: p.Passive,
		},
	}
	if p.HoldTime != 0 && p.KeepaliveTime == 0 {
		ap.Timers.Config.KeepaliveInterval = max(1, ap.Timers.Config.HoldTime/3)
	}
	if p.LocalAddress.IsValid() {
		ap.Transport.LocalAddress = p.LocalAddress.String()
	}
	if p.EBGPMultihop != 0 {
		ap.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(p.EBGPMultihop)}
	}
	if p.GracefulRestart {
		ap.GracefulRestart = &api.GracefulRestart{
			Enabled:     true,
			RestartTime: uint32(secs(p.RestartTime, 120*time.Second)),
		}
	}
	for _, f := range p.families() {
		af := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: familyAPI(f), Enabled: true}}
		if p.GracefulRestart {
			af.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		ap.AfiSafis = append(ap.AfiSafis, af)
	}
	return ap
}

func familyAPI(f Family) *api.Family {
	if f == IPv4Unicast {
		return &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	}
	return &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
}
