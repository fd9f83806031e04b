package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/lbkit/lbkit/internal/bfd"
)

// A BFDState is the state of a peer's BFD session.
type BFDState uint8

// The BFD states. BFDOff is a peer without BFD.
const (
	BFDOff BFDState = iota
	BFDAdminDown
	BFDDown
	BFDInit
	BFDUp
)

var bfdNames = [...]string{"off", "admindown", "down", "init", "up"}

// String returns the state's lower-case name, such as "up".
func (s BFDState) String() string {
	if int(s) < len(bfdNames) {
		return bfdNames[s]
	}
	return "BFDState(" + strconv.Itoa(int(s)) + ")"
}

func bfdState(s bfd.State) BFDState { return BFDAdminDown + BFDState(s) }

// bfdPort is the UDP port BFD uses; tests may change it.
var bfdPort = bfd.Port

// startBFD starts p's BFD session, and the BFD server with the first one.
// peerMu is held.
func (s *Speaker) startBFD(ctx context.Context, p Peer) error {
	if !p.BFD.Enabled {
		return nil
	}
	if s.bfd == nil {
		srv, err := bfd.Listen(bfdPort, s.log)
		if err != nil {
			return fmt.Errorf("bgp: BFD for %v: %w", p.Address, err)
		}
		s.bfd = srv
	}
	cfg := bfd.Config{Peer: p.Address, Local: p.LocalAddress, MinTx: p.BFD.MinTx, MinRx: p.BFD.MinRx, Multiplier: p.BFD.Multiplier}
	sess, err := s.bfd.Add(ctx, cfg, s.onBFD(p))
	if err != nil {
		return fmt.Errorf("bgp: BFD for %v: %w", p.Address, err)
	}
	s.bfdSessions[p.Address] = sess
	return nil
}

// stopBFD ends p's BFD session, if any; peerMu is held.
func (s *Speaker) stopBFD(addr netip.Addr) {
	if sess := s.bfdSessions[addr]; sess != nil {
		sess.Close()
		delete(s.bfdSessions, addr)
	}
}

// bfdStateOf returns the BFD state of addr; peerMu is held.
func (s *Speaker) bfdStateOf(addr netip.Addr) BFDState {
	if sess := s.bfdSessions[addr]; sess != nil {
		return bfdState(sess.State())
	}
	return BFDOff
}

// onBFD returns the handler of p's BFD changes. It runs in the BFD
// session's goroutine and must not take peerMu (closing a session waits
// for that goroutine with peerMu held).
func (s *Speaker) onBFD(p Peer) func(bfd.Change) {
	return func(c bfd.Change) {
		st := bfdState(c.New)
		s.log.Info("bfd session", "peer", p.Address, "state", st)
		if c.Old == bfd.Up && c.New == bfd.Down && !c.RemoteAdminDown {
			// Close the TCP connection rather than ask GoBGP to reset
			// the peer: a reset of a session that is not established
			// leaves a NOTIFICATION queued that ends the next one.
			if err := abortSessions(p.Address, p.port(), s.listenPort()); err != nil {
				s.log.Warn("closing BGP session after BFD down", "peer", p.Address, "err", err)
			}
		}
		s.publishBFD(p.Address, st)
	}
}

// publishBFD tells the watchers that addr's BFD state is now st.
func (s *Speaker) publishBFD(addr netip.Addr, st BFDState) {
	s.evMu.Lock()
	state, ok := s.lastState[addr]
	s.lastBFD[addr] = st
	s.evMu.Unlock()
	if !ok {
		state = StateIdle
	}
	s.publish(PeerEvent{Address: addr, State: state, Time: time.Now()})
}
