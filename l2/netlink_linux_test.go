package l2

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// overrunEvents is a link-event socket whose first read reports lost
// events (ENOBUFS, as rtnetlink does when its buffer overflows) and whose
// later reads block until Close.
type overrunEvents struct {
	reads  atomic.Int64
	once   sync.Once
	closed chan struct{}
}

func (e *overrunEvents) Read([]byte) (int, error) {
	if e.reads.Add(1) == 1 {
		return 0, &os.PathError{Op: "read", Path: "rtnetlink", Err: unix.ENOBUFS}
	}
	<-e.closed
	return 0, os.ErrClosed
}

func (e *overrunEvents) Close() error {
	e.once.Do(func() { close(e.closed) })
	return nil
}

// TestLinkEventsOverrun: lost link events (a burst of interface changes
// overflowing the socket) call for a scan, and the watch goes on; it ends
// only with the announcer.
func TestLinkEventsOverrun(t *testing.T) {
	a, err := NewWithLinks(context.Background(), Config{},
		Link{Interface: &net.Interface{Index: 1, Name: "eth0", HardwareAddr: nodeMAC}, Conn: newFakeConn()})
	require.NoError(t, err)
	ev := &overrunEvents{closed: make(chan struct{})}
	kick := make(chan struct{}, 1)
	a.wg.Add(1)
	go a.readLinkEvents(ev, kick)
	select {
	case <-kick:
	case <-time.After(waitFor):
		t.Fatal("no scan after the overrun")
	}
	require.Eventually(t, func() bool { return ev.reads.Load() == 2 }, waitFor, time.Millisecond, "reading on after the overrun")
	require.NoError(t, a.Close())
	assert.Equal(t, int64(2), ev.reads.Load())
}
