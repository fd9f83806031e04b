package l2test_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lbkit/lbkit/l2/l2test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// read reads one frame from p, failing after a second.
func read(t *testing.T, p *l2test.Port) ([]byte, net.Addr) {
	t.Helper()
	require.NoError(t, p.SetReadDeadline(time.Now().Add(time.Second)))
	buf := make([]byte, 1514)
	n, from, err := p.ReadFrom(buf)
	require.NoError(t, err)
	return buf[:n], from
}

// nothing asserts that no frame is waiting on p.
func nothing(t *testing.T, p *l2test.Port) {
	t.Helper()
	require.NoError(t, p.SetReadDeadline(time.Now()))
	_, _, err := p.ReadFrom(make([]byte, 1514))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestSegmentDeliversToOthers(t *testing.T) {
	var s l2test.Segment
	a, b, c := s.Attach(), s.Attach(), s.Attach()
	assert.Equal(t, 3, s.Ports())
	assert.Equal(t, "port1", a.LocalAddr().String())
	assert.Equal(t, "l2test", a.LocalAddr().Network())

	frame := []byte("frame one")
	n, err := a.WriteTo(frame, nil)
	require.NoError(t, err)
	assert.Equal(t, len(frame), n)
	frame[0] = 'X' // the segment keeps its own copy
	for _, p := range []*l2test.Port{b, c} {
		got, from := read(t, p)
		assert.Equal(t, "frame one", string(got))
		assert.Equal(t, l2test.Addr{Port: 1}, from)
	}
	nothing(t, a)
}

func TestSegmentKeepsOrder(t *testing.T) {
	var s l2test.Segment
	a, b := s.Attach(), s.Attach()
	for i := range 100 {
		_, err := a.WriteTo([]byte{byte(i)}, nil)
		require.NoError(t, err)
	}
	for i := range 100 {
		got, _ := read(t, b)
		require.Equal(t, []byte{byte(i)}, got)
	}
}

func TestPortTruncatesToBuffer(t *testing.T) {
	var s l2test.Segment
	a, b := s.Attach(), s.Attach()
	_, err := a.WriteTo([]byte("0123456789"), nil)
	require.NoError(t, err)
	buf := make([]byte, 4)
	n, _, err := b.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "0123", string(buf[:n]))
}

func TestPortDropsWhenQueueFull(t *testing.T) {
	s := l2test.Segment{Queue: 2}
	a, b, c := s.Attach(), s.Attach(), s.Attach()
	for i := range 5 { // never blocks, though nobody reads
		_, err := a.WriteTo([]byte{byte(i)}, nil)
		require.NoError(t, err)
	}
	for _, p := range []*l2test.Port{b, c} {
		assert.Equal(t, 3, p.Dropped())
		for i := range 2 {
			got, _ := read(t, p)
			assert.Equal(t, []byte{byte(i)}, got, "the first frames are kept")
		}
		nothing(t, p)
	}
	assert.Zero(t, a.Dropped())
	_, err := a.WriteTo([]byte{9}, nil)
	require.NoError(t, err)
	got, _ := read(t, b)
	assert.Equal(t, []byte{9}, got, "room again once read")
}

func TestPortClose(t *testing.T) {
	var s l2test.Segment
	a, b := s.Attach(), s.Attach()
	_, err := a.WriteTo([]byte("queued"), nil)
	require.NoError(t, err)

	errc := make(chan error)
	go func() {
		_, _, err := a.ReadFrom(make([]byte, 10))
		errc <- err
	}()
	select {
	case <-a.Done():
		t.Fatal("Done before Close")
	default:
	}
	require.NoError(t, a.Close())
	<-a.Done()
	assert.ErrorIs(t, <-errc, net.ErrClosed, "a blocked read returns")
	assert.NoError(t, a.Close(), "second Close")
	assert.Equal(t, 1, s.Ports())

	_, err = a.WriteTo([]byte("x"), nil)
	assert.ErrorIs(t, err, net.ErrClosed)
	_, _, err = a.ReadFrom(make([]byte, 10))
	assert.ErrorIs(t, err, net.ErrClosed)

	require.NoError(t, b.Close())
	_, _, err = b.ReadFrom(make([]byte, 10))
	assert.ErrorIs(t, err, net.ErrClosed, "queued frames are discarded")

	c, d := s.Attach(), s.Attach()
	_, err = c.WriteTo([]byte("after"), nil)
	require.NoError(t, err)
	got, _ := read(t, d)
	assert.Equal(t, "after", string(got), "closed ports are skipped")
	assert.Zero(t, a.Dropped())
}

func TestPortReadDeadline(t *testing.T) {
	var s l2test.Segment
	a, b := s.Attach(), s.Attach()

	errc := make(chan error)
	go func() {
		_, _, err := b.ReadFrom(make([]byte, 10))
		errc <- err
	}()
	require.NoError(t, b.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	err := <-errc
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "a pending read times out")
	var ne net.Error
	require.True(t, errors.As(err, &ne))
	assert.True(t, ne.Timeout())

	_, err = a.WriteTo([]byte("x"), nil)
	require.NoError(t, err)
	_, _, err = b.ReadFrom(make([]byte, 10))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "a passed deadline fails reads even with frames queued")

	require.NoError(t, b.SetDeadline(time.Time{}))
	got, _ := read(t, b)
	assert.Equal(t, "x", string(got), "clearing the deadline")
}

func TestPortWriteDeadline(t *testing.T) {
	var s l2test.Segment
	a, b := s.Attach(), s.Attach()
	require.NoError(t, a.SetWriteDeadline(time.Now().Add(-time.Second)))
	_, err := a.WriteTo([]byte("x"), nil)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	nothing(t, b)
	require.NoError(t, a.SetWriteDeadline(time.Now().Add(time.Hour)))
	_, err = a.WriteTo([]byte("x"), nil)
	assert.NoError(t, err)
}

func TestPortGroups(t *testing.T) {
	var s l2test.Segment
	p := s.Attach()
	g1, g2 := netip.MustParseAddr("ff02::1:ff00:111"), netip.MustParseAddr("ff02::1:ff00:2")
	assert.Empty(t, p.Groups())
	require.NoError(t, p.LeaveGroup(g1), "leaving on a port that joined nothing")
	assert.Empty(t, p.Groups())
	require.NoError(t, p.JoinGroup(g1))
	require.NoError(t, p.JoinGroup(g2))
	require.NoError(t, p.JoinGroup(g1))
	assert.Equal(t, []netip.Addr{g2, g1}, p.Groups())
	require.NoError(t, p.LeaveGroup(g1))
	assert.Equal(t, []netip.Addr{g2, g1}, p.Groups(), "joined twice, left once")
	require.NoError(t, p.LeaveGroup(g1))
	require.NoError(t, p.LeaveGroup(g1), "leaving a group not joined")
	assert.Equal(t, []netip.Addr{g2}, p.Groups())
}

// Writers, readers and closers at once, for the race detector: every frame
// a reader gets is one some writer wrote, whole.
func TestSegmentConcurrent(t *testing.T) {
	var s l2test.Segment
	writers, readers := make([]*l2test.Port, 4), make([]*l2test.Port, 4)
	for i := range 4 { // all attached before anyone writes
		writers[i], readers[i] = s.Attach(), s.Attach()
	}
	var wg sync.WaitGroup
	for w, p := range writers {
		wg.Go(func() {
			defer p.Close()
			for i := range 200 {
				_, _ = p.WriteTo([]byte{byte(w), byte(i), byte(w), byte(i)}, nil)
			}
		})
	}
	for _, p := range readers {
		wg.Go(func() {
			defer p.Close()
			buf := make([]byte, 10)
			for range 100 {
				n, _, err := p.ReadFrom(buf)
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, 4, n)
				assert.Equal(t, buf[0:2], buf[2:4])
			}
		})
	}
	wg.Wait()
	assert.Zero(t, s.Ports())
}
