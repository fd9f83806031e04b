package l2test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// Errors returned by this package, wrapped; test with errors.Is.
var (
	ErrNoReply = errors.New("no reply")
	ErrInvalid = errors.New("l2test: invalid argument")
)

// An Announcement is a gratuitous ARP packet (request or reply, sender IP
// equal to target IP) or an unsolicited neighbour advertisement seen by a
// Host: MAC claims Addr.
type Announcement struct {
	Addr netip.Addr
	MAC  net.HardwareAddr
}

// String returns "addr is-at mac", as tcpdump shows ARP replies.
func (a Announcement) String() string { return fmt.Sprintf("%v is-at %v", a.Addr, a.MAC) }

// A Host is a client on a port of a Segment, with a MAC and addresses,
// that resolves addresses and answers for its own as a kernel does. It runs
// one goroutine, until Close. A Host is safe for concurrent use.
type Host struct {
	mac   net.HardwareAddr
	addrs []netip.Addr // as given, unmapped, plus the link-local address
	port  *Port
	done  chan struct{} // closed when receive returns

	mu      sync.Mutex
	waiters map[netip.Addr][]chan net.HardwareAddr
	seen    []Announcement
	more    chan struct{} // closed and replaced when seen grows
}

// NewHost attaches a host with Ethernet address mac and the given unicast
// addresses to s. IPv4-mapped IPv6 addresses count as IPv4. The host also
// has the EUI-64 IPv6 link-local address of mac.
func NewHost(s *Segment, mac net.HardwareAddr, addrs ...netip.Addr) (*Host, error) {
	if len(mac) != 6 || mac[0]&1 != 0 {
		return nil, fmt.Errorf("%w: host MAC %v is not a 6-byte unicast address", ErrInvalid, mac)
	}
	h := &Host{mac: slices.Clone(mac), done: make(chan struct{}), waiters: map[netip.Addr][]chan net.HardwareAddr{}, more: make(chan struct{})}
	for _, a := range addrs {
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" {
			return nil, fmt.Errorf("%w: host address %v is not a unicast address without zone", ErrInvalid, a)
		}
		h.addrs = append(h.addrs, a.Unmap())
	}
	h.addrs = append(h.addrs, linkLocal(mac))
	h.port = s.Attach()
	go h.receive()
	return h, nil
}

// MAC returns the host's Ethernet address.
func (h *Host) MAC() net.HardwareAddr { return slices.Clone(h.mac) }

// Port returns the host's port, on which tests may also write frames.
func (h *Host) Port() *Port { return h.port }

// Close detaches the host from its segment and waits for its goroutine.
// Resolve calls in progress fail with net.ErrClosed. Calling it again
// returns nil.
func (h *Host) Close() error {
	err := h.port.Close()
	<-h.done
	return err
}

// Announcements returns the gratuitous ARP and unsolicited neighbour
// advertisements the host has seen, in order.
func (h *Host) Announcements() []Announcement {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.seen)
}

// WaitAnnouncements waits until the host has seen at least n
// announcements and returns them all, like Announcements. It returns ctx's
// error if ctx is done first, and net.ErrClosed if the host is closed.
func (h *Host) WaitAnnouncements(ctx context.Context, n int) ([]Announcement, error) {
	for {
		h.mu.Lock()
		seen, more := slices.Clone(h.seen), h.more
		h.mu.Unlock()
		if len(seen) >= n {
			return seen, nil
		}
		select {
		case <-more:
		case <-ctx.Done():
			return seen, ctx.Err()
		case <-h.done:
			return seen, net.ErrClosed
		}
	}
}

// Resolve returns the MAC that answers for addr: it sends an ARP request
// (IPv4, from the host's first IPv4 address or, lacking one, 0.0.0.0) or a
// neighbour solicitation to addr's solicited-node group (IPv6, from the
// host's first IPv6 address, or its link-local one), and waits for the
// first reply. It returns an error wrapping ErrNoReply when none comes
// within timeout (zero or negative: wait for ctx alone), ctx's error when
// ctx is done first, and net.ErrClosed when the host is closed.
func (h *Host) Resolve(ctx context.Context, addr netip.Addr, timeout time.Duration) (net.HardwareAddr, error) {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsUnspecified() || addr.IsMulticast() || addr.Zone() != "" {
		return nil, fmt.Errorf("%w: cannot resolve %v", ErrInvalid, addr)
	}
	w := h.wait(addr)
	defer h.unwait(addr, w)
	query, what, err := h.query(addr)
	if err != nil {
		return nil, err
	}
	if _, err := h.port.WriteTo(query, nil); err != nil {
		return nil, err
	}
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case mac := <-w:
		return mac, nil
	case <-expire:
		return nil, fmt.Errorf("l2test: %s %v: %w within %v", what, addr, ErrNoReply, timeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("l2test: %s %v: %w", what, addr, ctx.Err())
	case <-h.done:
		return nil, net.ErrClosed
	}
}

// query returns the frame that asks who has addr, and its name.
func (h *Host) query(addr netip.Addr) ([]byte, string, error) {
	if addr.Is4() {
		f, err := arpFrame(arp.OperationRequest, ethernet.Broadcast, h.mac, h.source(true), ethernet.Broadcast, addr)
		return f, "ARP who-has", err
	}
	snm, err := ndp.SolicitedNodeMulticast(addr)
	if err != nil {
		return nil, "", err
	}
	ns := &ndp.NeighborSolicitation{
		TargetAddress: addr,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: h.mac}},
	}
	f, err := ndpFrame(ns, multicastMAC(snm), h.mac, h.source(false), snm)
	return f, "NDP who-has", err
}

// source returns the host's first address of the family.
func (h *Host) source(v4 bool) netip.Addr {
	for _, a := range h.addrs {
		if a.Is4() == v4 {
			return a
		}
	}
	return netip.IPv4Unspecified() // only IPv4 may lack one: link-local is last
}

func (h *Host) wait(addr netip.Addr) chan net.HardwareAddr {
	w := make(chan net.HardwareAddr, 1)
	h.mu.Lock()
	h.waiters[addr] = append(h.waiters[addr], w)
	h.mu.Unlock()
	return w
}

func (h *Host) unwait(addr netip.Addr, w chan net.HardwareAddr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waiters[addr] = slices.DeleteFunc(h.waiters[addr], func(c chan net.HardwareAddr) bool { return c == w })
	if len(h.waiters[addr]) == 0 {
		delete(h.waiters, addr)
	}
}

// answered hands mac to the Resolve calls waiting for addr.
func (h *Host) answered(addr netip.Addr, mac net.HardwareAddr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.waiters[addr] {
		select {
		case w <- slices.Clone(mac):
		default:
		}
	}
}

func (h *Host) announced(addr netip.Addr, mac net.HardwareAddr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, Announcement{Addr: addr, MAC: slices.Clone(mac)})
	close(h.more)
	h.more = make(chan struct{})
}

func (h *Host) owns(addr netip.Addr) bool { return slices.Contains(h.addrs, addr) }
