package bfd

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// recorder keeps a session's changes.
type recorder struct {
	mu      sync.Mutex
	changes []Change
}

func (r *recorder) add(c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

func (r *recorder) list() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Change(nil), r.changes...)
}

var (
	lo1 = netip.MustParseAddr("127.0.0.1")
	lo2 = netip.MustParseAddr("127.0.0.2")
)

// fast is a session config with 50 ms intervals.
func fast(peer, local netip.Addr) Config {
	return Config{Peer: peer, Local: local, MinTx: 50 * time.Millisecond, MinRx: 50 * time.Millisecond}
}

// testPort returns a port for this test run, away from 3784.
func testPort() int { return 47000 + int(time.Now().UnixNano()%900) }

func listenOn(t *testing.T, port int) *Server {
	t.Helper()
	s, err := Listen(port, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Peer: netip.MustParseAddr("10.0.0.1")}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, 300*time.Millisecond, c.MinTx)
	assert.Equal(t, 300*time.Millisecond, c.MinRx)
	assert.Equal(t, uint8(3), c.Multiplier)
	for _, bad := range []Config{
		{},
		{Peer: netip.MustParseAddr("::ffff:10.0.0.1")},
		{Peer: netip.MustParseAddr("10.0.0.1"), Local: netip.MustParseAddr("::1")},
		{Peer: netip.MustParseAddr("10.0.0.1"), MinTx: -1},
	} {
		_, err := bad.withDefaults()
		assert.ErrorIs(t, err, ErrInvalidConfig, "%+v", bad)
	}
}

// TestSessionLifecycle: two endpoints (127.0.0.1 and 127.0.0.2, sessions
// of one server, told apart by discriminator and source address) come Up;
// one goes silent (closed, without a word), the other detects it within
// its detection time and goes Down, then back Up when a new session starts
// from the same address with a new discriminator.
func TestSessionLifecycle(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	srv := listenOn(t, testPort())
	ctx := context.Background()
	ra, rb := &recorder{}, &recorder{}
	sa, err := srv.Add(ctx, fast(lo2, lo1), ra.add)
	require.NoError(t, err)
	sb, err := srv.Add(ctx, fast(lo1, lo2), rb.add)
	require.NoError(t, err)
	up := func(s *Session) func() bool { return func() bool { return s.State() == Up } }
	require.Eventually(t, up(sa), 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, up(sb), 10*time.Second, 10*time.Millisecond)
	var states []State
	for _, c := range ra.list() {
		states = append(states, c.New)
	}
	// a hears b's Down (Down -> Init -> Up) or, when b is already in Init
	// by then, b's Init (Down -> Up): RFC 5880 section 6.8.6.
	assert.Contains(t, [][]State{{Init, Up}, {Up}}, states, "a: Down -> [Init ->] Up")

	sa.close(false) // silent, as a frozen process
	start := time.Now()
	require.Eventually(t, func() bool { return sb.State() == Down }, 10*time.Second, 5*time.Millisecond)
	t.Logf("detected in %v (detection time 150 ms)", time.Since(start))
	changes := rb.list()
	assert.Equal(t, Change{Peer: lo1, Old: Up, New: Down, Diag: DiagTimeExpired}, changes[len(changes)-1])

	sa2, err := srv.Add(ctx, fast(lo2, lo1), nil)
	require.NoError(t, err)
	require.Eventually(t, up(sa2), 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, up(sb), 10*time.Second, 10*time.Millisecond)

	// Closing tells the neighbor: AdminDown, not a failure.
	sa2.Close()
	require.Eventually(t, func() bool { return sb.State() == Down }, 10*time.Second, 5*time.Millisecond)
	changes = rb.list()
	assert.Equal(t, Change{Peer: lo1, Old: Up, New: Down, Diag: DiagNeighborDown, RemoteAdminDown: true}, changes[len(changes)-1])
}

func TestAddRefuses(t *testing.T) {
	s := listenOn(t, testPort())
	ctx := context.Background()
	cfg := Config{Peer: netip.MustParseAddr("127.0.0.9")}
	sess, err := s.Add(ctx, cfg, nil)
	require.NoError(t, err)
	_, err = s.Add(ctx, cfg, nil)
	assert.ErrorIs(t, err, ErrSessionExists)
	_, err = s.Add(ctx, Config{}, nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Add(cctx, Config{Peer: netip.MustParseAddr("127.0.0.10")}, nil)
	assert.ErrorIs(t, err, context.Canceled)
	sess.Close()
	sess.Close() // twice is harmless
	require.NoError(t, s.Close())
	_, err = s.Add(ctx, Config{Peer: netip.MustParseAddr("127.0.0.11")}, nil)
	assert.Error(t, err)
}
