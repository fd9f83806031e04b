package gossip

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbkit/lbkit/internal/netns"
	"github.com/lbkit/lbkit/l2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if netns.HelperName() != "" {
		netns.Main(m) // a node of the namespace tests
	}
	goleak.VerifyTestMain(m)
}

// Correctness timeouts are generous: CI machines are loaded. Speed is
// measured in the benchmarks.
const waitFor = 20 * time.Second

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

// start starts a member on a free loopback port, closed in t.Cleanup.
func start(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if !cfg.Bind.IsValid() {
		cfg.Bind = loopback
	}
	c, err := New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startN starts n members named node1..noden that join the first.
func startN(t testing.TB, n int, cfg Config) []*Cluster {
	t.Helper()
	var cs []*Cluster
	for i := range n {
		c := cfg
		c.Name = fmt.Sprintf("node%d", i+1)
		if i > 0 {
			c.Join = []string{cs[0].Addr().String()}
		}
		cs = append(cs, start(t, c))
	}
	waitMembers(t, cs, names(cs)...)
	return cs
}

func names(cs []*Cluster) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name())
	}
	slices.Sort(out)
	return out
}

func memberNames(c *Cluster) []string {
	var out []string
	for _, m := range c.Members() {
		out = append(out, m.Name)
	}
	return out
}

// waitMembers waits until every cluster in cs sees exactly want.
func waitMembers(t testing.TB, cs []*Cluster, want ...string) {
	t.Helper()
	for _, c := range cs {
		require.Eventually(t, func() bool { return slices.Equal(memberNames(c), want) },
			waitFor, 5*time.Millisecond, "%s sees %v, want %v", c.Name(), memberNames(c), want)
	}
}

// leaders returns which of cs leads key, by each one's Elector.
func leaders(cs []*Cluster, key string) []string {
	var out []string
	for _, c := range cs {
		if c.Elector().Leads(key) {
			out = append(out, c.Name())
		}
	}
	return out
}

// crash stops c without leaving, as a killed process would.
func crash(c *Cluster) {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	c.readyWG.Wait()
	c.rejoinWG.Wait()
	_ = c.ml.Shutdown()
}

func without(cs []*Cluster, gone *Cluster) []*Cluster {
	return slices.DeleteFunc(slices.Clone(cs), func(c *Cluster) bool { return c == gone })
}

// waitOneLeader waits until exactly one of cs leads key and every one
// agrees on it, and returns it.
func waitOneLeader(t testing.TB, cs []*Cluster, key string) *Cluster {
	t.Helper()
	var got []string
	require.Eventually(t, func() bool {
		got = leaders(cs, key)
		if len(got) != 1 {
			return false
		}
		for _, c := range cs {
			if l, ok := c.Leader(key); !ok || l != got[0] {
				return false
			}
		}
		return true
	}, waitFor, 5*time.Millisecond, "one agreed leader for %s, have %v", key, got)
	for _, c := range cs {
		if c.Name() == got[0] {
			return c
		}
	}
	return nil
}

func TestAgreeAndFailover(t *testing.T) {
	cs := startN(t, 3, Config{})
	const key = "batuu/deathstar"
	leader := waitOneLeader(t, cs, key)
	want, _ := l2.NewRendezvous("", "node1", "node2", "node3").Leader(key)
	assert.Equal(t, want, leader.Name(), "the rendezvous winner over the members")

	crash(leader)
	rest := without(cs, leader)
	waitMembers(t, rest, names(rest)...)
	next := waitOneLeader(t, rest, key)
	want, _ = l2.NewRendezvous("", names(rest)...).Leader(key)
	assert.Equal(t, want, next.Name())
}

func TestCloseLeaves(t *testing.T) {
	cs := startN(t, 3, Config{})
	const key = "batuu/deathstar"
	leader := waitOneLeader(t, cs, key)
	ch := cs[0].Changes()
	if cs[0] == leader {
		ch = cs[1].Changes()
	}
	require.NoError(t, leader.Close())
	require.NoError(t, leader.Close(), "twice")
	assert.Empty(t, leader.Members())
	assert.False(t, leader.Elector().Leads(key), "a closed member leads nothing")
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatal("no change after a member left")
	}
	rest := without(cs, leader)
	waitMembers(t, rest, names(rest)...)
	waitOneLeader(t, rest, key)
}

func TestCandidates(t *testing.T) {
	cs := startN(t, 3, Config{})
	const key = "batuu/deathstar"
	for _, c := range cs {
		c.SetCandidates(key, "node2", "node3", "node9")
	}
	l := waitOneLeader(t, cs, key)
	assert.Contains(t, []string{"node2", "node3"}, l.Name())
	other := "node2"
	if l.Name() == "node2" {
		other = "node3"
	}

	crash(l)
	rest := without(cs, l)
	waitMembers(t, rest, names(rest)...)
	assert.Equal(t, other, waitOneLeader(t, rest, key).Name(), "the other candidate")

	for _, c := range rest {
		c.SetCandidates(key, l.Name()) // replaced: only the dead one
	}
	assert.Empty(t, leaders(rest, key), "no live candidate: nobody answers")
	_, ok := rest[0].Leader(key)
	assert.False(t, ok)

	for _, c := range rest {
		c.ClearCandidates(key)
	}
	waitOneLeader(t, rest, key)
}

// A member that is not ready is not elected, by itself or by the others;
// when ready again it leads again.
func TestReadiness(t *testing.T) {
	cs := startN(t, 3, Config{})
	const key = "batuu/deathstar"
	leader := waitOneLeader(t, cs, key)
	leader.Elector().(l2.ReadyElector).SetReady(false)
	assert.False(t, leader.Elector().Leads(key), "at once on the node itself")
	next := waitOneLeader(t, cs, key)
	assert.NotEqual(t, leader.Name(), next.Name())
	for _, c := range cs {
		require.Eventually(t, func() bool {
			for _, m := range c.Members() {
				if m.Name == leader.Name() {
					return !m.Ready
				}
			}
			return false
		}, waitFor, 5*time.Millisecond, "%s sees %s not ready", c.Name(), leader.Name())
	}
	leader.SetReady(true)
	assert.Equal(t, leader, waitOneLeader(t, cs, key))
}

// Leaders are asked to announce again when a node joins.
func TestRefreshOnJoin(t *testing.T) {
	cs := startN(t, 2, Config{})
	r := cs[0].Elector().(l2.Refresher)
	before := r.Refresh()
	ch := cs[0].Changes()
	c3 := start(t, Config{Name: "node3", Join: []string{cs[0].Addr().String()}})
	waitMembers(t, append(cs, c3), "node1", "node2", "node3")
	<-ch
	assert.Greater(t, r.Refresh(), before)
}

// Joining retries in the background until a peer answers.
func TestJoinRetries(t *testing.T) {
	c1 := start(t, Config{Name: "node1", Bind: netip.MustParseAddrPort("127.0.0.1:0")})
	port := c1.Addr().Port()
	require.NoError(t, c1.Close()) // the peer is not there yet
	c2 := start(t, Config{Name: "node2", Join: []string{c1.Addr().String()},
		Timing: Timing{RejoinInterval: 50 * time.Millisecond}})
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, []string{"node2"}, memberNames(c2))
	c1 = start(t, Config{Name: "node1", Bind: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)})
	waitMembers(t, []*Cluster{c1, c2}, "node1", "node2")
}

func TestSecret(t *testing.T) {
	key := []byte("correct horse battery staple")
	cs := startN(t, 2, Config{Secret: key})
	join := []string{cs[0].Addr().String(), cs[1].Addr().String()}
	fast := Timing{RejoinInterval: 50 * time.Millisecond}
	wrong := start(t, Config{Name: "intruder", Join: join, Secret: []byte("wrong"), Timing: fast})
	plain := start(t, Config{Name: "plain", Join: join, Timing: fast})
	good := start(t, Config{Name: "node3", Join: join, Secret: key, Timing: fast})
	waitMembers(t, append(cs, good), "node1", "node2", "node3")
	time.Sleep(time.Second) // many join attempts
	waitMembers(t, append(cs, good), "node1", "node2", "node3")
	assert.Equal(t, []string{"intruder"}, memberNames(wrong))
	assert.Equal(t, []string{"plain"}, memberNames(plain))
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Name: "a", Bind: loopback, Timing: Timing{ProbeInterval: -1}},
		{Name: "a", Bind: loopback, Timing: Timing{ProbeInterval: 10 * time.Millisecond, ProbeTimeout: 10 * time.Millisecond}},
		{Name: "a", Bind: netip.MustParseAddrPort("192.0.2.1:1")}, // not a local address
	} {
		_, err := New(context.Background(), cfg)
		assert.ErrorIs(t, err, ErrInvalidConfig, "%+v", cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(ctx, Config{Name: "a", Bind: loopback})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestMeta(t *testing.T) {
	assert.True(t, decodeReady(encodeMeta(true)))
	assert.False(t, decodeReady(encodeMeta(false)))
	assert.True(t, decodeReady(nil), "no metadata")
	assert.True(t, decodeReady([]byte{9, flagNotReady}), "a later version")
}

// memberlist's own log lines reach the Logger, at their level.
func TestLogger(t *testing.T) {
	rec := &recorder{}
	c1 := start(t, Config{Name: "node1", Logger: slog.New(rec)})
	c2 := start(t, Config{Name: "node2", Join: []string{c1.Addr().String()}, Logger: slog.New(rec)})
	waitMembers(t, []*Cluster{c1, c2}, "node1", "node2")
	require.NoError(t, c2.Close())
	seen := map[string]bool{} // "source level"
	for _, r := range rec.all() {
		seen[strings.SplitN(r.Message, " ", 2)[0]+" "+r.Level.String()] = true
		assert.NotContains(t, r.Message, "[DEBUG]", "level prefixes become levels")
	}
	assert.True(t, seen["gossip: INFO"], "the cluster's own logs: %v", seen)
	assert.True(t, seen["memberlist: DEBUG"], "memberlist's [DEBUG] lines: %v", seen)
}

// A recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}

func (r *recorder) all() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}
