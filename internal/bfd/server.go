// Package bfd is a small Bidirectional Forwarding Detection implementation
// (RFC 5880, asynchronous mode, no authentication, no echo) for single-hop
// sessions over UDP (RFC 5881) that bgp uses to notice a dead neighbor in
// well under a second.
//
// A Server owns the receive sockets (UDP port 3784 on IPv4 and IPv6); each
// Session has its own send socket (a source port in 49152–65535, TTL 255)
// and goroutine. Received packets must carry TTL (hop limit) 255. Sessions
// report every state change to a callback; what a change means (bgp resets
// a BGP session only when BFD goes from Up to Down) is the caller's choice.
//
// Not part of lbkit's API.
package bfd

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Port is the single-hop control port of RFC 5881.
const Port = 3784

// ErrSessionExists reports a second session to the same peer.
var ErrSessionExists = errors.New("bfd: session exists")

// A Server receives the control packets of its sessions. It is safe for
// concurrent use.
type Server struct {
	port int
	log  *slog.Logger
	p4   *ipv4.PacketConn
	p6   *ipv6.PacketConn
	wg   sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	byPeer  map[netip.Addr]*Session
	byDiscr map[uint32]*Session
}

// Listen starts a server receiving on port (Port for standard BFD) on
// every IPv4 and IPv6 address. log may be nil.
func Listen(port int, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{port: port, log: log, byPeer: map[netip.Addr]*Session{}, byDiscr: map[uint32]*Session{}}
	c4, err := net.ListenPacket("udp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("bfd: listen: %w", err)
	}
	s.p4 = ipv4.NewPacketConn(c4)
	c6, err := net.ListenPacket("udp6", net.JoinHostPort("::", strconv.Itoa(port)))
	if err != nil {
		c4.Close()
		return nil, fmt.Errorf("bfd: listen: %w", err)
	}
	s.p6 = ipv6.NewPacketConn(c6)
	if err := errors.Join(s.p4.SetControlMessage(ipv4.FlagTTL, true), s.p6.SetControlMessage(ipv6.FlagHopLimit, true)); err != nil {
		c4.Close()
		c6.Close()
		return nil, fmt.Errorf("bfd: listen: %w", err)
	}
	s.wg.Add(2)
	go s.read4()
	go s.read6()
	return s, nil
}

func (s *Server) read4() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, cm, src, err := s.p4.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if cm == nil || cm.TTL != 255 {
			continue // not single hop (RFC 5881 section 5)
		}
		s.deliver(buf[:n], src)
	}
}

func (s *Server) read6() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, cm, src, err := s.p6.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if cm == nil || cm.HopLimit != 255 {
			continue
		}
		s.deliver(buf[:n], src)
	}
}

// deliver passes a packet to its session: by Your Discriminator, or by
// source address when the sender does not know ours yet (or has started a
// new session: a new My Discriminator with Your Discriminator 0).
func (s *Server) deliver(b []byte, src net.Addr) {
	p, err := Parse(b)
	if err != nil {
		return
	}
	ua, ok := src.(*net.UDPAddr)
	if !ok {
		return
	}
	from := ua.AddrPort().Addr().Unmap().WithZone("")
	s.mu.Lock()
	var sess *Session
	if p.YourDiscr != 0 {
		sess = s.byDiscr[p.YourDiscr]
	} else {
		sess = s.byPeer[from]
	}
	s.mu.Unlock()
	if sess == nil || sess.cfg.Peer != from {
		return
	}
	sess.receive(p)
}

// Close stops the server and every session it has.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var sessions []*Session
	for _, sess := range s.byPeer {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.Close()
	}
	err := errors.Join(s.p4.Close(), s.p6.Close())
	s.wg.Wait()
	return err
}

// Add starts a session with cfg; onChange, if not nil, is called (in the
// session's goroutine) after every state change.
func (s *Server) Add(ctx context.Context, cfg Config, onChange func(Change)) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, net.ErrClosed
	case s.byPeer[cfg.Peer] != nil:
		return nil, fmt.Errorf("%w: %v", ErrSessionExists, cfg.Peer)
	}
	discr := s.newDiscr()
	conn, err := dial(cfg, s.port)
	if err != nil {
		return nil, err
	}
	sess := newSession(s, cfg, discr, conn, onChange)
	s.byPeer[cfg.Peer] = sess
	s.byDiscr[discr] = sess
	go sess.run()
	return sess, nil
}

// newDiscr returns an unused, non-zero local discriminator; s.mu is held.
func (s *Server) newDiscr() uint32 {
	var b [4]byte
	for {
		_, _ = rand.Read(b[:])
		d := binary.BigEndian.Uint32(b[:])
		if d != 0 && s.byDiscr[d] == nil {
			return d
		}
	}
}

func (s *Server) remove(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byPeer[sess.cfg.Peer] == sess {
		delete(s.byPeer, sess.cfg.Peer)
	}
	delete(s.byDiscr, sess.localDiscr)
}

// dial opens a session's send socket: source port in 49152–65535 (RFC 5881
// section 4), TTL or hop limit 255.
func dial(cfg Config, port int) (*net.UDPConn, error) {
	raddr := net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.Peer, uint16(port)))
	var lastErr error
	var b [2]byte
	for range 64 {
		_, _ = rand.Read(b[:])
		sport := 49152 + int(binary.BigEndian.Uint16(b[:]))%16384
		laddr := &net.UDPAddr{Port: sport}
		if cfg.Local.IsValid() {
			laddr.IP = cfg.Local.AsSlice()
		}
		c, err := net.DialUDP("udp", laddr, raddr)
		if err != nil {
			lastErr = err
			continue
		}
		if cfg.Peer.Is4() {
			err = ipv4.NewConn(c).SetTTL(255)
		} else {
			err = ipv6.NewConn(c).SetHopLimit(255)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("bfd: %w", err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("bfd: no source port: %w", lastErr)
}
