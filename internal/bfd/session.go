package bfd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultMinTx      = 300 * time.Millisecond
	DefaultMinRx      = 300 * time.Millisecond
	DefaultMultiplier = 3
	// slowTx is the transmit interval while the session is not Up (RFC
	// 5880 section 6.8.3: at least one second).
	slowTx = time.Second
)

// ErrInvalidConfig reports a Config that cannot start a session.
var ErrInvalidConfig = errors.New("bfd: invalid config")

// Config configures a session.
type Config struct {
	// Peer is the neighbor's address; Local the source address (unset:
	// the kernel chooses).
	Peer, Local netip.Addr
	// MinTx is the desired minimum transmit interval, MinRx the required
	// minimum receive interval; 0 means 300 ms. Multiplier is the
	// detection multiplier; 0 means 3.
	MinTx, MinRx time.Duration
	Multiplier   uint8
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case !c.Peer.IsValid() || c.Peer.Is4In6() || c.Peer.Zone() != "":
		return c, fmt.Errorf("%w: peer %v", ErrInvalidConfig, c.Peer)
	case c.Local.IsValid() && c.Local.Is4() != c.Peer.Is4():
		return c, fmt.Errorf("%w: local address %v is not of the peer's family", ErrInvalidConfig, c.Local)
	case c.MinTx < 0 || c.MinRx < 0:
		return c, fmt.Errorf("%w: negative interval", ErrInvalidConfig)
	}
	if c.MinTx == 0 {
		c.MinTx = DefaultMinTx
	}
	if c.MinRx == 0 {
		c.MinRx = DefaultMinRx
	}
	if c.Multiplier == 0 {
		c.Multiplier = DefaultMultiplier
	}
	return c, nil
}

// A Change is a session's move from one state to another.
type Change struct {
	Peer     netip.Addr
	Old, New State
	// Diag is the reason for a change to Down. RemoteAdminDown reports a
	// neighbor that took the session down administratively: RFC 5882
	// section 3.2 says not to treat that as a failure.
	Diag            Diag
	RemoteAdminDown bool
}

// A Session is one BFD session. Its methods are safe for concurrent use.
type Session struct {
	srv        *Server
	cfg        Config
	localDiscr uint32
	conn       *net.UDPConn
	onChange   func(Change)
	rx         chan Packet
	stop, done chan struct{}
	closeOnce  sync.Once

	mu    sync.Mutex // guards state; the rest below is the goroutine's
	state State

	diag        Diag
	remoteDiscr uint32
	remoteState State
	remoteMinRx time.Duration // 0 until the first packet: send anyway
	remoteMinTx time.Duration
	remoteMult  uint8
	poll        bool // a poll sequence is running
	desiredTx   time.Duration
	// remoteAdminDown is set while setState reports a change caused by
	// the neighbor's AdminDown.
	remoteAdminDown bool
}

func newSession(srv *Server, cfg Config, discr uint32, conn *net.UDPConn, onChange func(Change)) *Session {
	return &Session{
		srv: srv, cfg: cfg, localDiscr: discr, conn: conn, onChange: onChange,
		rx: make(chan Packet, 16), stop: make(chan struct{}), done: make(chan struct{}),
		state: Down, remoteState: Down, desiredTx: slowTx,
	}
}

// State returns the session's state.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Close ends the session, telling the neighbor that it goes AdminDown (so
// that it does not treat the end as a failure), and waits for its
// goroutine.
func (s *Session) Close() { s.close(true) }

func (s *Session) close(adminDown bool) {
	s.closeOnce.Do(func() {
		s.srv.remove(s)
		close(s.stop)
		<-s.done
		if adminDown {
			p := Packet{Diag: DiagAdminDown, State: AdminDown, DetectMult: s.cfg.Multiplier, MyDiscr: s.localDiscr,
				YourDiscr: s.remoteDiscr, DesiredMinTx: s.desiredTx, RequiredMinRx: s.cfg.MinRx}
			for range 3 { // RFC 5880 section 6.8.16 asks for more than one
				_, _ = s.conn.Write(p.Marshal())
			}
		}
		s.conn.Close()
	})
}

func (s *Session) receive(p Packet) {
	select {
	case s.rx <- p:
	default: // the goroutine is behind; BFD tolerates lost packets
	}
}

func (s *Session) run() {
	defer close(s.done)
	tx := time.NewTimer(0)
	defer tx.Stop()
	detect := time.NewTimer(time.Hour)
	detect.Stop()
	defer detect.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tx.C:
			s.send(false)
			tx.Reset(s.txInterval())
		case <-detect.C:
			if st := s.current(); st == Init || st == Up {
				s.remoteDiscr = 0
				s.setState(Down, DiagTimeExpired)
				s.send(false)
			}
		case p := <-s.rx:
			changed := s.handle(p)
			detect.Reset(s.detectionTime())
			if p.Poll {
				s.send(true)
			}
			if changed {
				// Tell the neighbor at once, and from now on at the
				// new state's rate.
				s.send(false)
				tx.Reset(s.txInterval())
			}
		}
	}
}

func (s *Session) current() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// handle applies a received packet (RFC 5880 section 6.8.6) and reports
// whether the state changed.
func (s *Session) handle(p Packet) bool {
	s.remoteDiscr = p.MyDiscr // follows a neighbor that restarted its session
	s.remoteState = p.State
	s.remoteMinRx = p.RequiredMinRx
	s.remoteMinTx = p.DesiredMinTx
	s.remoteMult = p.DetectMult
	if p.Final {
		s.poll = false
	}
	old := s.current()
	switch {
	case p.State == AdminDown:
		if old != Down {
			s.remoteAdminDown = true
			s.setState(Down, DiagNeighborDown)
			s.remoteAdminDown = false
		}
	case old == Down && p.State == Down:
		s.setState(Init, DiagNone)
	case old == Down && p.State == Init, old == Init && (p.State == Init || p.State == Up):
		s.setState(Up, DiagNone)
	case old == Up && p.State == Down:
		s.setState(Down, DiagNeighborDown)
	}
	return s.current() != old
}

// setState moves to st and reports the change. Up switches to the
// configured transmit interval (a poll sequence tells the neighbor); any
// other state to the slow one.
func (s *Session) setState(st State, diag Diag) {
	s.mu.Lock()
	old := s.state
	s.state = st
	s.mu.Unlock()
	if st == Down {
		s.diag = diag
	}
	want := slowTx
	if st == Up {
		want = s.cfg.MinTx
		s.diag = DiagNone
	}
	if want != s.desiredTx {
		s.desiredTx = want
		s.poll = st == Up
	}
	if s.onChange != nil && old != st {
		s.onChange(Change{Peer: s.cfg.Peer, Old: old, New: st, Diag: diag, RemoteAdminDown: s.remoteAdminDown})
	}
}

// txInterval is the time to the next periodic packet: the larger of our
// desired and the neighbor's required interval, less 0–25 % jitter (10–25 %
// with a multiplier of 1), RFC 5880 section 6.8.7.
func (s *Session) txInterval() time.Duration {
	iv := max(s.desiredTx, s.remoteMinRx)
	low := 0.75
	top := 1.0
	if s.cfg.Multiplier == 1 {
		top = 0.9
	}
	return time.Duration(float64(iv) * (low + rand.Float64()*(top-low)))
}

// detectionTime is the neighbor's multiplier times the larger of our
// required and its desired interval; before the first packet, a long time.
func (s *Session) detectionTime() time.Duration {
	if s.remoteMult == 0 {
		return time.Hour
	}
	return time.Duration(s.remoteMult) * max(s.cfg.MinRx, s.remoteMinTx)
}

func (s *Session) send(final bool) {
	p := Packet{
		Diag:          s.diag,
		State:         s.current(),
		Poll:          s.poll && !final,
		Final:         final,
		DetectMult:    s.cfg.Multiplier,
		MyDiscr:       s.localDiscr,
		YourDiscr:     s.remoteDiscr,
		DesiredMinTx:  s.desiredTx,
		RequiredMinRx: s.cfg.MinRx,
	}
	// A neighbor that asks for no packets (Required Min RX 0) gets none
	// but the Final answering its poll.
	if s.remoteMult != 0 && s.remoteMinRx == 0 && !final {
		return
	}
	_, _ = s.conn.Write(p.Marshal()) // errors (no listener yet) are loss
}
