package announce_test

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

func service(key string, labels selector.Set, addrs ...string) announce.Service {
	s := announce.Service{Key: key, Labels: labels}
	for _, a := range addrs {
		s.Addrs = append(s.Addrs, netip.MustParseAddr(a))
	}
	return s
}

func TestSelect(t *testing.T) {
	rec := &announcetest.Recorder{}
	a := announce.Select(selector.MustParse("announced=bgp"), rec)
	plain := selector.Set{"org": "empire"}
	bgp := selector.Set{"org": "empire", "announced": "bgp"}

	steps := []struct {
		name      string
		call      func() error
		wantKeys  []string
		wantCalls int // calls that reached the recorder so far
	}{
		{"unmatched announce is not passed", func() error { return a.Announce(ctx, service("ns/ds", plain, "172.18.255.201")) }, []string{}, 0},
		{"unmatched withdraw is not passed", func() error { return a.Withdraw(ctx, "ns/ds") }, []string{}, 0},
		{"label added: announced", func() error { return a.Announce(ctx, service("ns/ds", bgp, "172.18.255.201")) }, []string{"ns/ds"}, 1},
		{"update passes", func() error { return a.Announce(ctx, service("ns/ds", bgp, "172.18.255.202")) }, []string{"ns/ds"}, 2},
		{"label removed: withdrawn", func() error { return a.Announce(ctx, service("ns/ds", plain, "172.18.255.202")) }, []string{}, 3},
		{"still unmatched: nothing more", func() error { return a.Announce(ctx, service("ns/ds", plain, "172.18.255.202")) }, []string{}, 3},
		{"matched again", func() error { return a.Announce(ctx, service("ns/ds", bgp, "172.18.255.202")) }, []string{"ns/ds"}, 4},
		{"withdraw passes", func() error { return a.Withdraw(ctx, "ns/ds") }, []string{}, 5},
		{"second withdraw does not", func() error { return a.Withdraw(ctx, "ns/ds") }, []string{}, 5},
	}
	for _, st := range steps {
		require.NoError(t, st.call(), st.name)
		assert.Equal(t, st.wantKeys, append([]string{}, rec.Keys()...), st.name)
		assert.Len(t, rec.Calls(), st.wantCalls, st.name)
	}
	require.NoError(t, a.Close())
	assert.True(t, rec.Closed(), "Close closes the inner announcer")
}

func TestSelectWithdrawError(t *testing.T) {
	rec := &announcetest.Recorder{}
	a := announce.Select(selector.MustParse("announced=bgp"), rec)
	require.NoError(t, a.Announce(ctx, service("k", selector.Set{"announced": "bgp"}, "10.0.0.1")))
	boom := errors.New("boom")
	rec.FailNext(announcetest.MethodWithdraw, 1, boom)
	assert.ErrorIs(t, a.Announce(ctx, service("k", nil, "10.0.0.1")), boom)
	assert.Equal(t, []string{"k"}, rec.Keys())
	// The failed withdrawal is retried on the next call.
	require.NoError(t, a.Announce(ctx, service("k", nil, "10.0.0.1")))
	assert.Empty(t, rec.Keys())
}

func TestSelectAnnounceErrorStillWithdrawable(t *testing.T) {
	rec := &announcetest.Recorder{}
	a := announce.Select(selector.Selector{}, rec)
	boom := errors.New("boom")
	rec.FailNext(announcetest.MethodAnnounce, 1, boom)
	assert.ErrorIs(t, a.Announce(ctx, service("k", nil, "10.0.0.1")), boom)
	require.NoError(t, a.Withdraw(ctx, "k"))
	calls := rec.Calls()
	require.Len(t, calls, 2, "a failed announce may have left state behind, so Withdraw is passed")
	assert.Equal(t, announcetest.MethodWithdraw, calls[1].Method)
}

func TestSelectConcurrent(t *testing.T) {
	rec := &announcetest.Recorder{}
	a := announce.Select(selector.MustParse("on"), rec)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				labels := selector.Set{}
				if (i+j)%2 == 0 {
					labels["on"] = ""
				}
				key := []string{"a", "b", "c"}[j%3]
				_ = a.Announce(ctx, service(key, labels, "10.0.0.1"))
			}
		})
	}
	wg.Wait()
	// Settle every key to unmatched: the recorder must end up empty, which
	// only holds if Select tracked what it passed correctly.
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, a.Announce(ctx, service(k, nil, "10.0.0.1")))
	}
	assert.Empty(t, rec.Keys())
}

func TestMulti(t *testing.T) {
	r1, r2, r3 := &announcetest.Recorder{}, &announcetest.Recorder{}, &announcetest.Recorder{}
	m := announce.Multi(r1, r2, r3)
	e1, e3 := errors.New("one"), errors.New("three")
	r1.FailNext(announcetest.MethodAnnounce, 1, e1)
	r3.FailNext(announcetest.MethodAnnounce, 1, e3)

	err := m.Announce(ctx, service("k", nil, "10.0.0.1"))
	assert.ErrorIs(t, err, e1)
	assert.ErrorIs(t, err, e3)
	assert.Empty(t, r1.Keys())
	assert.Equal(t, []string{"k"}, r2.Keys(), "every announcer is tried")
	assert.Empty(t, r3.Keys())

	require.NoError(t, m.Announce(ctx, service("k", nil, "10.0.0.1")))
	for _, r := range []*announcetest.Recorder{r1, r2, r3} {
		assert.Equal(t, []string{"k"}, r.Keys())
	}
	require.NoError(t, m.Withdraw(ctx, "k"))
	for _, r := range []*announcetest.Recorder{r1, r2, r3} {
		assert.Empty(t, r.Keys())
	}
	require.NoError(t, m.Close())
	for _, r := range []*announcetest.Recorder{r1, r2, r3} {
		assert.True(t, r.Closed())
	}
	assert.NoError(t, announce.Multi().Announce(ctx, service("k", nil)), "empty Multi")
}

func TestMultiSkipsNil(t *testing.T) {
	r := &announcetest.Recorder{}
	m := announce.Multi(nil, r, nil)
	require.NoError(t, m.Announce(ctx, service("k", nil, "10.0.0.1")))
	assert.Equal(t, []string{"k"}, r.Keys())
	require.NoError(t, m.Withdraw(ctx, "k"))
	require.NoError(t, m.Close())
	assert.True(t, r.Closed())
}

// An unset announcer of a concrete type (a nil *l2.Announcer, here a nil
// *Recorder) is not == nil inside the interface; Multi and Select still
// leave it out instead of calling it.
func TestNilPointerAnnouncers(t *testing.T) {
	var unset *announcetest.Recorder
	r := &announcetest.Recorder{}
	sel := selector.MustParse("announced=l2")
	m := announce.Multi(r, unset, announce.Select(sel, unset), announce.Select(sel, nil))
	svc := service("k", selector.Set{"announced": "l2"}, "10.0.0.1")
	require.NoError(t, m.Announce(ctx, svc))
	require.NoError(t, m.Withdraw(ctx, "k"))
	require.NoError(t, m.Close())
	assert.Len(t, r.Calls(), 3, "the one real announcer saw every call")

	s := announce.Select(sel, unset)
	assert.NoError(t, s.Announce(ctx, svc), "Select over nothing announces nothing")
	assert.NoError(t, s.Withdraw(ctx, "k"))
	assert.NoError(t, s.Close())
}
