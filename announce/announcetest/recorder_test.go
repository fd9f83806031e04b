package announcetest_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/announce/announcetest"
	"github.com/lbkit/lbkit/selector"
)

var ctx = context.Background()

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestRecorderState(t *testing.T) {
	var r announcetest.Recorder // zero value is usable
	var _ announce.Announcer = &r
	require.NoError(t, r.Announce(ctx, announce.Service{Key: "b", Addrs: addrs("10.0.0.2", "10.0.0.1")}))
	require.NoError(t, r.Announce(ctx, announce.Service{Key: "a", Labels: selector.Set{"x": "y"}, Addrs: addrs("2001:db8::1", "10.0.0.1")}))
	require.NoError(t, r.Announce(ctx, announce.Service{Key: "b", Addrs: addrs("10.0.0.3")}), "upsert replaces")

	assert.Equal(t, []string{"a", "b"}, r.Keys())
	assert.Equal(t, addrs("10.0.0.1", "10.0.0.3", "2001:db8::1"), r.Addrs(), "sorted, unique")
	s, ok := r.Service("a")
	require.True(t, ok)
	assert.Equal(t, selector.Set{"x": "y"}, s.Labels)
	_, ok = r.Service("c")
	assert.False(t, ok)

	require.NoError(t, r.Withdraw(ctx, "b"))
	require.NoError(t, r.Withdraw(ctx, "unknown"))
	svcs := r.Services()
	require.Len(t, svcs, 1)
	assert.Equal(t, "a", svcs[0].Key)
}

func TestRecorderCopies(t *testing.T) {
	var r announcetest.Recorder
	in := announce.Service{Key: "a", Labels: selector.Set{"x": "y"}, Addrs: addrs("10.0.0.1")}
	require.NoError(t, r.Announce(ctx, in))
	in.Labels["x"] = "changed"
	in.Addrs[0] = netip.MustParseAddr("10.9.9.9")
	s, _ := r.Service("a")
	assert.Equal(t, "y", s.Labels["x"], "the caller's later changes do not leak in")
	s.Addrs[0] = netip.MustParseAddr("10.8.8.8")
	assert.Equal(t, addrs("10.0.0.1"), r.Addrs(), "nor do changes to what it returns")
	r.Calls()[0].Service.Labels["x"] = "z"
	assert.Equal(t, "y", r.Calls()[0].Service.Labels["x"])
}

func TestRecorderCallsAndErrors(t *testing.T) {
	var r announcetest.Recorder
	boom := errors.New("boom")
	r.FailNext(announcetest.MethodAnnounce, 1, boom)
	assert.ErrorIs(t, r.Announce(ctx, announce.Service{Key: "a", Addrs: addrs("10.0.0.1")}), boom)
	assert.Empty(t, r.Keys(), "a failed call changes nothing")
	require.NoError(t, r.Announce(ctx, announce.Service{Key: "a", Addrs: addrs("10.0.0.1")}))

	r.InjectError(func(c announcetest.Call) error {
		if c.Method == announcetest.MethodWithdraw && c.Key == "a" {
			return boom
		}
		return nil
	})
	assert.ErrorIs(t, r.Withdraw(ctx, "a"), boom)
	assert.Equal(t, []string{"a"}, r.Keys())
	r.InjectError(nil)
	require.NoError(t, r.Withdraw(ctx, "a"))

	calls := r.Calls()
	want := []struct {
		m   announcetest.Method
		err error
	}{{announcetest.MethodAnnounce, boom}, {announcetest.MethodAnnounce, nil}, {announcetest.MethodWithdraw, boom}, {announcetest.MethodWithdraw, nil}}
	require.Len(t, calls, len(want))
	for i, w := range want {
		assert.Equal(t, w.m, calls[i].Method, i)
		assert.Equal(t, "a", calls[i].Key, i)
		assert.Equal(t, w.err, calls[i].Err, i)
	}
	assert.Equal(t, addrs("10.0.0.1"), calls[0].Service.Addrs)
}

func TestRecorderClose(t *testing.T) {
	var r announcetest.Recorder
	require.NoError(t, r.Announce(ctx, announce.Service{Key: "a", Addrs: addrs("10.0.0.1")}))
	boom := errors.New("boom")
	r.FailNext(announcetest.MethodClose, 1, boom)
	assert.ErrorIs(t, r.Close(), boom)
	assert.False(t, r.Closed())
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "closing twice is harmless")
	assert.True(t, r.Closed())
	assert.Empty(t, r.Keys(), "Close withdraws everything")
	assert.ErrorIs(t, r.Announce(ctx, announce.Service{Key: "a"}), announcetest.ErrClosed)
	assert.ErrorIs(t, r.Withdraw(ctx, "a"), announcetest.ErrClosed)

	r.Reset()
	assert.False(t, r.Closed())
	assert.Empty(t, r.Calls())
	require.NoError(t, r.Announce(ctx, announce.Service{Key: "a"}))
}

func TestRecorderConcurrent(t *testing.T) {
	var r announcetest.Recorder
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				key := string(rune('a' + i))
				_ = r.Announce(ctx, announce.Service{Key: key, Addrs: addrs("10.0.0.1")})
				if j%2 == 0 {
					_ = r.Withdraw(ctx, key)
				}
				_ = r.Keys()
			}
		})
	}
	wg.Wait()
	assert.Len(t, r.Calls(), 8*150)
	assert.Len(t, r.Keys(), 8, "each key's last call was an Announce")
}
