package main

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/announce/announcetest"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// fixture is a controller whose BGP and L2 announcers are Recorders.
type fixture struct {
	m        *ipam.Manager
	bgp, l2  *announcetest.Recorder
	ctrl     *Controller
	announce announce.Announcer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{m: ipam.NewManager(), bgp: &announcetest.Recorder{}, l2: &announcetest.Recorder{}}
	for _, p := range []ipam.Pool{
		{Name: "empire-ip-pool", ServiceSelector: selector.MustParse("org=empire"),
			Ranges: []ipam.Range{ipam.MustParseRange("172.18.255.200/29"), ipam.MustParseRange("2001:db8:dead:beef::/64")}},
		{Name: "rebel-pool", ServiceSelector: selector.MustParse("org=rebels"),
			Ranges: []ipam.Range{ipam.MustParseRange("10.77.0.0/30")}},
	} {
		require.NoError(t, f.m.SetPool(p))
	}
	f.announce = Announcers(selector.MustParse("announced=bgp"), f.bgp, selector.MustParse("org=empire"), f.l2)
	f.ctrl = NewController(f.m, f.announce, nil)
	t.Cleanup(func() { _ = f.announce.Close() })
	return f
}

func (f *fixture) reconcile(t *testing.T, typ EventType, svc Service) Status {
	t.Helper()
	st, err := f.ctrl.Reconcile(context.Background(), Event{typ, svc})
	require.NoError(t, err)
	return st
}

var (
	v4 = netip.MustParseAddr("172.18.255.201")
	v6 = netip.MustParseAddr("2001:db8:dead:beef::1")
)

func deathstar(labels selector.Set) Service {
	return Service{Namespace: "batuu", Name: "deathstar", Labels: labels, Ports: []ipam.Port{{Protocol: ipam.TCP, Port: 80}}}
}

// The reference scenario through the reconcile loop: L2 for org=empire at
// once, BGP only while the service is labelled announced=bgp.
func TestReconcileReferenceScenario(t *testing.T) {
	f := newFixture(t)

	st := f.reconcile(t, Added, deathstar(selector.Set{"org": "empire"}))
	assert.Equal(t, []netip.Addr{v4, v6}, st.Addrs)
	assert.Equal(t, "empire-ip-pool", st.Pool)
	assert.Equal(t, ipam.Assigned, st.Reason)
	assert.Empty(t, f.bgp.Keys(), "not labelled announced=bgp")
	got, ok := f.l2.Service("batuu/deathstar")
	require.True(t, ok)
	assert.Equal(t, []netip.Addr{v4, v6}, got.Addrs)

	st = f.reconcile(t, Updated, deathstar(selector.Set{"org": "empire", "announced": "bgp"}))
	assert.Equal(t, ipam.Unchanged, st.Reason)
	assert.Equal(t, []netip.Addr{v4, v6}, st.Addrs)
	assert.Equal(t, []netip.Addr{v4, v6}, f.bgp.Addrs())
	assert.Equal(t, []netip.Addr{v4, v6}, f.l2.Addrs())

	f.reconcile(t, Updated, deathstar(selector.Set{"org": "empire"}))
	assert.Empty(t, f.bgp.Keys(), "label removed: withdrawn from BGP")
	assert.Equal(t, []netip.Addr{v4, v6}, f.l2.Addrs(), "still announced on L2")
	last := f.bgp.Calls()[len(f.bgp.Calls())-1]
	assert.Equal(t, announcetest.MethodWithdraw, last.Method)
	assert.Equal(t, "batuu/deathstar", last.Key)

	st = f.reconcile(t, Deleted, deathstar(nil))
	assert.Equal(t, Status{}, st)
	assert.Empty(t, f.bgp.Keys())
	assert.Empty(t, f.l2.Keys())
	assert.Empty(t, f.m.Assignments(), "addresses released")

	// The released addresses go to the next service.
	st = f.reconcile(t, Added, Service{Namespace: "scarif", Name: "citadel", Labels: selector.Set{"org": "empire"}})
	assert.Equal(t, []netip.Addr{v4, v6}, st.Addrs)
}

// Deleting withdraws before releasing, so no address is ever announced while
// it is free for another service.
func TestReconcileDeleteWithdrawsFirst(t *testing.T) {
	f := newFixture(t)
	f.reconcile(t, Added, deathstar(selector.Set{"org": "empire", "announced": "bgp"}))
	var heldAtWithdraw []int
	f.bgp.InjectError(func(c announcetest.Call) error {
		if c.Method == announcetest.MethodWithdraw {
			heldAtWithdraw = append(heldAtWithdraw, len(f.m.Assignments()))
		}
		return nil
	})
	f.reconcile(t, Deleted, deathstar(nil))
	assert.Equal(t, []int{1}, heldAtWithdraw, "the address was still assigned when BGP withdrew it")
	assert.Empty(t, f.m.Assignments())
}

func TestReconcileNoPool(t *testing.T) {
	f := newFixture(t)
	_, err := f.ctrl.Reconcile(context.Background(), Event{Added, Service{Namespace: "hoth", Name: "echo-base", Labels: selector.Set{"org": "hutts"}}})
	require.ErrorIs(t, err, ipam.ErrNoPool)
	assert.Contains(t, err.Error(), "hoth/echo-base")
	assert.Empty(t, f.l2.Keys())
	assert.Empty(t, f.m.Assignments())
}

// A service whose labels move it to another pool gets new addresses, and
// the announcers replace the old ones.
func TestReconcileReassignment(t *testing.T) {
	f := newFixture(t)
	f.reconcile(t, Added, deathstar(selector.Set{"org": "empire", "announced": "bgp"}))
	st := f.reconcile(t, Updated, deathstar(selector.Set{"org": "rebels", "announced": "bgp"}))
	assert.Equal(t, "rebel-pool", st.Pool)
	assert.Equal(t, ipam.NotSelected, st.Reason)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.77.0.1")}, st.Addrs)
	assert.Equal(t, st.Addrs, f.bgp.Addrs(), "BGP announces the new address only")
	assert.Empty(t, f.l2.Keys(), "L2 selects org=empire only")
}

// A failing announcer makes Reconcile fail (the event is requeued); the
// other announcer still gets the service, and the retry converges.
func TestReconcileAnnounceFailureRetried(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("router unreachable")
	f.bgp.FailNext(announcetest.MethodAnnounce, 1, boom)
	svc := deathstar(selector.Set{"org": "empire", "announced": "bgp"})
	st, err := f.ctrl.Reconcile(context.Background(), Event{Added, svc})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, []netip.Addr{v4, v6}, st.Addrs, "addresses are assigned all the same")
	assert.Empty(t, f.bgp.Keys())
	assert.Equal(t, []netip.Addr{v4, v6}, f.l2.Addrs())

	st = f.reconcile(t, Updated, svc)
	assert.Equal(t, ipam.Unchanged, st.Reason, "the retry keeps the addresses")
	assert.Equal(t, []netip.Addr{v4, v6}, f.bgp.Addrs())
}

// After a restart, services keep the addresses in their status even when
// a new service is listed first.
func TestRestore(t *testing.T) {
	f := newFixture(t)
	old := deathstar(selector.Set{"org": "empire", "announced": "bgp"})
	old.Status = []netip.Addr{v4, v6}
	other := Service{Namespace: "scarif", Name: "citadel", Labels: selector.Set{"org": "empire"},
		Status: []netip.Addr{netip.MustParseAddr("172.18.255.203")}}
	fresh := Service{Namespace: "scarif", Name: "vault", Labels: selector.Set{"org": "empire"}}

	sts, err := f.ctrl.Restore(context.Background(), []Service{fresh, old, other})
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{v4, v6}, sts["batuu/deathstar"].Addrs)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("172.18.255.203")}, sts["scarif/citadel"].Addrs)
	assert.Equal(t, netip.MustParseAddr("172.18.255.202"), sts["scarif/vault"].Addrs[0], "the new service does not take a restored address")
	assert.Equal(t, []netip.Addr{v4, v6}, f.bgp.Addrs())
	assert.Len(t, f.l2.Keys(), 3)

	// Later updates without Requested keep the restored addresses.
	st := f.reconcile(t, Updated, Service{Namespace: "scarif", Name: "citadel", Labels: selector.Set{"org": "empire", "tier": "1"}})
	assert.Equal(t, ipam.Unchanged, st.Reason)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("172.18.255.203")}, st.Addrs)
}

func TestRestoreConflict(t *testing.T) {
	f := newFixture(t)
	a := deathstar(selector.Set{"org": "empire"})
	a.Status = []netip.Addr{v4}
	b := Service{Namespace: "scarif", Name: "citadel", Labels: selector.Set{"org": "empire"}, Status: []netip.Addr{v4}}
	sts, err := f.ctrl.Restore(context.Background(), []Service{b, a})
	require.ErrorIs(t, err, ipam.ErrInUse)
	assert.Contains(t, err.Error(), "scarif/citadel: not restored")
	assert.Equal(t, []netip.Addr{v4}, sts["batuu/deathstar"].Addrs, "the first in address then key order keeps it")
	assert.Equal(t, ipam.Assigned, sts["scarif/citadel"].Reason, "the other gets a new address")
	assert.NotContains(t, sts["scarif/citadel"].Addrs, v4)
}

// A disabled pool keeps the services restored into it, and takes no new
// ones.
func TestRestoreDisabledPool(t *testing.T) {
	f := newFixture(t)
	st, ok := f.m.Pool("empire-ip-pool")
	require.True(t, ok)
	p := ipam.Pool{Name: st.Name, Ranges: st.Ranges, Disabled: true,
		ServiceSelector: selector.MustParse("org=empire")}
	require.NoError(t, f.m.SetPool(p))
	old := deathstar(selector.Set{"org": "empire"})
	old.Status = []netip.Addr{v4, v6}
	fresh := Service{Namespace: "scarif", Name: "vault", Labels: selector.Set{"org": "empire"}}
	sts, err := f.ctrl.Restore(context.Background(), []Service{fresh, old})
	require.ErrorIs(t, err, ipam.ErrNoPool, "the new service finds no enabled pool")
	assert.Equal(t, []netip.Addr{v4, v6}, sts["batuu/deathstar"].Addrs)
	assert.Equal(t, []netip.Addr{v4, v6}, f.l2.Addrs(), "restored addresses are announced")
	assert.NotContains(t, sts, "scarif/vault")
}

// Run drives Reconcile from an event channel, in order.
func TestRun(t *testing.T) {
	f := newFixture(t)
	events := make(chan Event, 3)
	events <- Event{Added, deathstar(selector.Set{"org": "empire"})}
	events <- Event{Updated, deathstar(selector.Set{"org": "empire", "announced": "bgp"})}
	events <- Event{Deleted, deathstar(nil)}
	close(events)
	var seen []EventType
	f.ctrl.Run(context.Background(), events, func(ev Event, _ Status, err error) {
		assert.NoError(t, err)
		seen = append(seen, ev.Type)
	})
	assert.Equal(t, []EventType{Added, Updated, Deleted}, seen)
	var methods []announcetest.Method
	for _, c := range f.bgp.Calls() {
		methods = append(methods, c.Method)
	}
	assert.Equal(t, []announcetest.Method{announcetest.MethodAnnounce, announcetest.MethodWithdraw}, methods)
	assert.Empty(t, f.m.Assignments())
}

// The demo command runs its script without privileges.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), nil, &out))
	assert.Contains(t, out.String(), "listed  scarif/citadel   [172.18.255.203] from empire-ip-pool (unchanged)")
	assert.Contains(t, out.String(), "added   batuu/deathstar  [172.18.255.201 2001:db8:dead:beef::1] from empire-ip-pool (assigned)")
	assert.Contains(t, out.String(), "no pool")
	assert.Contains(t, out.String(), "answering for [172.18.255.203] at the end", "the listed service stays")
}

// A bad flag value fails the command without leaving the BGP speaker
// running.
func TestDemoBadPeer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out bytes.Buffer
	err := run(context.Background(), []string{"-peer", "not-an-address"}, &out)
	require.ErrorContains(t, err, "-peer")
}

// AS numbers beyond 32 bits are refused, not truncated.
func TestDemoASNRange(t *testing.T) {
	for _, flag := range []string{"-asn", "-peer-asn"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{flag, "4294967297"}, &out)
		require.ErrorContains(t, err, flag, "%s 2^32+1", flag)
	}
}
