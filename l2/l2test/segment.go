package l2test

import (
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueue is the number of frames a port buffers when Segment.Queue
// is zero.
const DefaultQueue = 256

// A Segment is an in-memory Ethernet segment, a hub: a frame written on one
// port reaches every other open port. The zero value is an empty segment
// ready to use. A Segment is safe for concurrent use; it must not be copied
// after first use.
type Segment struct {
	// Queue is the number of frames each port attached afterwards buffers
	// before dropping; zero is DefaultQueue.
	Queue int

	mu    sync.Mutex
	ports []*Port
	next  int
}

// Attach returns a new open port on s.
func (s *Segment) Attach() *Port {
	q := s.Queue
	if q <= 0 {
		q = DefaultQueue
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	p := &Port{seg: s, addr: Addr{Port: s.next}, in: make(chan frame, q), closed: make(chan struct{})}
	p.from = p.addr // boxed once, not per frame
	p.rd.init()
	s.ports = append(s.ports, p)
	return p
}

// Ports returns the number of open ports on s.
func (s *Segment) Ports() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ports)
}

// deliver hands a copy of b to every open port but from, dropping it
// for ports whose queue is full.
func (s *Segment) deliver(from *Port, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.ports {
		if p == from {
			continue
		}
		select {
		case p.in <- frame{from: from.from, b: slices.Clone(b)}:
		default:
			p.dropped.Add(1)
		}
	}
}

func (s *Segment) detach(p *Port) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ports = slices.DeleteFunc(s.ports, func(q *Port) bool { return q == p })
}

// An Addr is the address of a port: its number on the segment, from 1 in
// order of attachment. It is the net.Addr of a Port.
type Addr struct{ Port int }

// Network returns "l2test".
func (Addr) Network() string { return "l2test" }

// String returns "port" and the number, as in "port1".
func (a Addr) String() string { return "port" + strconv.Itoa(a.Port) }

type frame struct {
	from net.Addr
	b    []byte
}

// A Port is one port of a Segment: a net.PacketConn that reads and writes
// whole Ethernet frames. The address given to WriteTo is ignored (a hub
// sends every frame everywhere); ReadFrom returns the Addr of the port that
// wrote the frame and truncates frames longer than its buffer. Read and
// write deadlines are honoured with errors satisfying os.ErrDeadlineExceeded.
// A Port is safe for concurrent use.
type Port struct {
	seg     *Segment
	addr    Addr
	from    net.Addr // addr, as ReadFrom returns it
	in      chan frame
	closed  chan struct{}
	once    sync.Once
	dropped atomic.Int64
	rd      deadline
	wd      atomic.Int64 // write deadline, Unix nanoseconds; 0: none

	mu     sync.Mutex
	groups map[netip.Addr]int
}

// ReadFrom reads the next frame that reached p into b.
func (p *Port) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case <-p.closed:
		return 0, nil, net.ErrClosed
	case <-p.rd.wait():
		return 0, nil, os.ErrDeadlineExceeded
	default:
	}
	select {
	case f := <-p.in:
		return copy(b, f.b), f.from, nil
	case <-p.closed:
		return 0, nil, net.ErrClosed
	case <-p.rd.wait():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

// WriteTo sends b to every other open port of the segment and returns
// len(b); it never blocks.
func (p *Port) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-p.closed:
		return 0, net.ErrClosed
	default:
	}
	if d := p.wd.Load(); d != 0 && time.Now().UnixNano() >= d {
		return 0, os.ErrDeadlineExceeded
	}
	p.seg.deliver(p, b)
	return len(b), nil
}

// Close detaches p from its segment; frames queued for it are discarded.
// Calling it again returns nil.
func (p *Port) Close() error {
	p.once.Do(func() {
		p.seg.detach(p)
		close(p.closed)
	})
	return nil
}

// Done returns a channel that is closed when p is closed, so that tests
// can wait for the code under test to close its connection.
func (p *Port) Done() <-chan struct{} { return p.closed }

// Dropped returns the number of frames that did not reach p because its
// queue was full.
func (p *Port) Dropped() int { return int(p.dropped.Load()) }

// LocalAddr returns p's Addr.
func (p *Port) LocalAddr() net.Addr { return p.from }

// SetDeadline sets the read and write deadlines.
func (p *Port) SetDeadline(t time.Time) error {
	_ = p.SetReadDeadline(t)
	return p.SetWriteDeadline(t)
}

// SetReadDeadline makes pending and later reads fail once t has passed;
// the zero time means no deadline.
func (p *Port) SetReadDeadline(t time.Time) error {
	p.rd.set(t)
	return nil
}

// SetWriteDeadline makes later writes fail once t has passed; the zero
// time means no deadline. Writes never block, so only a deadline already
// passed has an effect.
func (p *Port) SetWriteDeadline(t time.Time) error {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	p.wd.Store(ns)
	return nil
}

// JoinGroup records that p joined the IPv6 multicast group g. Joins are
// counted: a group stays joined until left as often as joined.
func (p *Port) JoinGroup(g netip.Addr) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groups == nil {
		p.groups = map[netip.Addr]int{}
	}
	p.groups[g]++
	return nil
}

// LeaveGroup undoes one JoinGroup of g; leaving a group not joined does
// nothing.
func (p *Port) LeaveGroup(g netip.Addr) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groups[g] <= 1 {
		delete(p.groups, g) // deleting from a nil map is a no-op
		return nil
	}
	p.groups[g]--
	return nil
}

// Groups returns the multicast groups p has joined, sorted.
func (p *Port) Groups() []netip.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.SortedFunc(maps.Keys(p.groups), netip.Addr.Compare)
}

// A deadline is a settable point in time whose channel is closed when it
// passes, as net.Pipe's.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline passes
}

func (d *deadline) init() { d.cancel = make(chan struct{}) }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: wait for it to close cancel
	}
	d.timer = nil
	select {
	case <-d.cancel:
		d.cancel = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	if dur := time.Until(t); dur > 0 {
		c := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(c) })
		return
	}
	close(d.cancel)
}

func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}
