package bgp_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lbkit/lbkit/bgp"
)

func TestWatchSessionStates(t *testing.T) {
	r := newTestRouter(t, lo4, routerASN, speakerAt(lo4))
	s := newSpeaker(t, bgp.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := s.Watch(ctx)
	require.NoError(t, s.AddPeer(ctx, routerPeer(r)))

	timeout := time.After(20 * time.Second)
	var seen []bgp.PeerState
	for len(seen) == 0 || seen[len(seen)-1] != bgp.StateEstablished {
		select {
		case ev := <-events:
			assert.Equal(t, lo4, ev.Address)
			assert.False(t, ev.Time.IsZero())
			seen = append(seen, ev.State)
		case <-timeout:
			t.Fatalf("no established event; saw %v", seen)
		}
	}
	assert.True(t, slices.Contains(seen, bgp.StateOpenSent) || slices.Contains(seen, bgp.StateOpenConfirm), "states on the way: %v", seen)

	// The session goes down when the router removes us.
	require.NoError(t, s.RemovePeer(ctx, lo4))
	for down := false; !down; {
		select {
		case ev := <-events:
			down = ev.State != bgp.StateEstablished
		case <-timeout:
			t.Fatal("no event for the session going down")
		}
	}
	cancel()
	for range events { // closed when ctx ends
	}
}

func TestWatchEndsWithContext(t *testing.T) {
	s := newSpeaker(t, bgp.Config{})
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	chans := []<-chan bgp.PeerEvent{s.Watch(ctx), s.Watch(ctx), s.Watch(ctx)}
	cancel()
	for _, c := range chans {
		_, open := <-c
		assert.False(t, open)
	}
	goleak.VerifyNone(t, before)
}

// TestCloseLeavesNoGoroutine: after Close, every goroutine of this package
// (watchers included) and of GoBGP has ended.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	s, err := bgp.New(context.Background(), bgp.Config{ASN: 65001, RouterID: lo4})
	require.NoError(t, err)
	events := s.Watch(context.Background())
	require.NoError(t, s.Close())
	_, open := <-events
	assert.False(t, open, "Close ends watchers")
	goleak.VerifyNone(t, before)
}

func TestPeerStateString(t *testing.T) {
	assert.Equal(t, "established", bgp.StateEstablished.String())
	assert.Equal(t, "idle", bgp.StateIdle.String())
	assert.Equal(t, "PeerState(9)", bgp.PeerState(9).String())
	assert.Equal(t, "ipv6-unicast", bgp.IPv6Unicast.String())
	assert.Equal(t, "Family(0)", bgp.Family(0).String())
}

// TestWatchDeliversQueuedEventsOnClose: events not yet received when the
// speaker closes are still delivered, ending with the session's end, and
// then the channel closes.
func TestWatchDeliversQueuedEventsOnClose(t *testing.T) {
	r := newTestRouter(t, lo4, routerASN, speakerAt(lo4))
	s, err := bgp.New(context.Background(), bgp.Config{ASN: speakerASN, RouterID: netip.MustParseAddr("10.255.255.2")})
	require.NoError(t, err)
	events := s.Watch(context.Background())
	require.NoError(t, s.AddPeer(context.Background(), routerPeer(r)))
	waitState(t, s, lo4, bgp.StateEstablished)
	require.NoError(t, s.Close())
	var seen []bgp.PeerState
	for ev := range events {
		seen = append(seen, ev.State)
	}
	require.NotEmpty(t, seen)
	assert.Contains(t, seen, bgp.StateEstablished, "%v", seen)
	assert.Equal(t, bgp.StateIdle, seen[len(seen)-1], "%v", seen)
}
