package bgp

import (
	"context"
	"net/netip"
	"time"

	api "github.com/osrg/gobgp/v4/api"
)

// GoBGP v4 waits a fixed 5 s (its holdtimeIdle) in Idle after a session
// ends for any reason but an administrative reset, whatever the peer's
// timers say, and only then starts the connect loop (first attempt after
// 1.5–2 s). To reconnect within the documented bound, the speaker replaces
// the peer in GoBGP when an established session ends on its own: a new peer
// starts connecting at once.

// reconnectLater re-adds peer addr in a goroutine, unless the speaker has
// (re)configured the peer since GoBGP reported the session's end at ended,
// or has stopped watching GoBGP (it is closing).
func (s *Speaker) reconnectLater(addr netip.Addr, ended time.Time) {
	s.evMu.Lock()
	stopped := s.evStopped
	if !stopped {
		s.bg.Add(1) // before stopEvents, so before Close waits for bg
	}
	s.evMu.Unlock()
	if stopped {
		return
	}
	go func() {
		defer s.bg.Done()
		_ = s.withPeers(func() error {
			p, ok := s.peers[addr]
			if !ok || s.addedAt[addr].After(ended) {
				return nil
			}
			ctx := context.Background()
			if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
				s.log.Debug("reconnect: remove peer", "peer", addr, "err", err)
				return nil
			}
			if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: s.apiPeer(p)}); err != nil {
				s.log.Warn("reconnect: add peer", "peer", addr, "err", err)
				return nil
			}
			s.addedAt[addr] = time.Now()
			return nil
		})
	}()
}
