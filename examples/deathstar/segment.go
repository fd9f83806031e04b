package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// A segment is an in-memory Ethernet segment (a hub): a frame written on one
// port reaches every other port. The default mode connects the node's L2
// announcer and the host through it.
type segment struct {
	mu    sync.Mutex
	ports []*segPort
}

// attach returns a new port: a net.PacketConn of whole Ethernet frames.
func (s *segment) attach() *segPort {
	p := &segPort{seg: s, in: make(chan []byte, 256), done: make(chan struct{})}
	s.mu.Lock()
	s.ports = append(s.ports, p)
	s.mu.Unlock()
	return p
}

// A segPort is one port of a segment. It implements net.PacketConn.
type segPort struct {
	seg  *segment
	in   chan []byte
	done chan struct{}
	once sync.Once
}

func (p *segPort) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case f := <-p.in:
		return copy(b, f), nil, nil
	case <-p.done:
		return 0, nil, net.ErrClosed
	}
}

// WriteTo delivers b to every other open port; a port whose queue is full
// drops it, as a congested link would.
func (p *segPort) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-p.done:
		return 0, net.ErrClosed
	default:
	}
	p.seg.mu.Lock()
	defer p.seg.mu.Unlock()
	for _, q := range p.seg.ports {
		if q == p {
			continue
		}
		select {
		case q.in <- append([]byte(nil), b...):
		default:
		}
	}
	return len(b), nil
}

func (p *segPort) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *segPort) LocalAddr() net.Addr              { return nil }
func (p *segPort) SetDeadline(time.Time) error      { return nil }
func (p *segPort) SetReadDeadline(time.Time) error  { return nil }
func (p *segPort) SetWriteDeadline(time.Time) error { return nil }

// errNoARPReply reports that nobody on the segment answered.
var errNoARPReply = errors.New("no ARP reply")

// An arpHost is a host on a segment that is not a BGP peer: it finds the
// MAC of an IPv4 address by ARP, as a kernel would.
type arpHost struct {
	mac  net.HardwareAddr
	ip   netip.Addr
	port *segPort

	mu      sync.Mutex
	waiters map[netip.Addr]chan net.HardwareAddr
	garps   []string // gratuitous announcements seen, "ip is-at mac"
}

func newARPHost(seg *segment, mac net.HardwareAddr, ip netip.Addr) *arpHost {
	h := &arpHost{mac: mac, ip: ip, port: seg.attach(), waiters: map[netip.Addr]chan net.HardwareAddr{}}
	go h.receive()
	return h
}

// receive handles the frames reaching the host until its port closes.
func (h *arpHost) receive() {
	buf := make([]byte, 1514)
	for {
		n, _, err := h.port.ReadFrom(buf)
		if err != nil {
			return
		}
		var f ethernet.Frame
		var p arp.Packet
		if f.UnmarshalBinary(buf[:n]) != nil || f.EtherType != ethernet.EtherTypeARP || p.UnmarshalBinary(f.Payload) != nil {
			continue
		}
		h.handle(p)
	}
}

func (h *arpHost) handle(p arp.Packet) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case p.Operation == arp.OperationRequest && p.SenderIP == p.TargetIP:
		h.garps = append(h.garps, fmt.Sprintf("%v is-at %v", p.SenderIP, p.SenderHardwareAddr))
	case p.Operation == arp.OperationReply && p.TargetIP == h.ip && string(p.TargetHardwareAddr) == string(h.mac):
		if w, ok := h.waiters[p.SenderIP]; ok {
			select {
			case w <- p.SenderHardwareAddr:
			default:
			}
		}
	}
}

// resolve asks the segment who has ip and waits up to timeout for a reply.
func (h *arpHost) resolve(ctx context.Context, ip netip.Addr, timeout time.Duration) (net.HardwareAddr, error) {
	w := make(chan net.HardwareAddr, 1)
	h.mu.Lock()
	h.waiters[ip] = w
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.waiters, ip)
		h.mu.Unlock()
	}()
	req, err := arp.NewPacket(arp.OperationRequest, h.mac, h.ip, ethernet.Broadcast, ip)
	if err != nil {
		return nil, err
	}
	payload, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	frame, err := (&ethernet.Frame{Destination: ethernet.Broadcast, Source: h.mac, EtherType: ethernet.EtherTypeARP, Payload: payload}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	if _, err := h.port.WriteTo(frame, nil); err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case mac := <-w:
		return mac, nil
	case <-t.C:
		return nil, fmt.Errorf("who-has %v: %w within %v", ip, errNoARPReply, timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// gratuitous returns the gratuitous announcements the host has seen.
func (h *arpHost) gratuitous() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.garps...)
}

func (h *arpHost) close() { _ = h.port.Close() }
