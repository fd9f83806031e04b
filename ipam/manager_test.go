package ipam_test

import (
	"bytes"
	"log/slog"
	"math/big"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

func empirePool() ipam.Pool {
	return ipam.Pool{
		Name:            "empire-ip-pool",
		Ranges:          rangesOf("172.18.255.200/29", "2001:db8:dead:beef::/64"),
		ServiceSelector: selector.MustParse("org=empire"),
	}
}

func TestManagerReferenceScenario(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, empirePool())

	a := assign(t, m, ipam.Request{Key: "batuu/deathstar", Labels: selector.Set{"org": "empire"}})
	assert.Equal(t, "empire-ip-pool", a.Pool)
	assert.Equal(t, ips("172.18.255.201", "2001:db8:dead:beef::1"), a.Addrs)
	assert.Equal(t, ipam.Assigned, a.Reason)
	assert.Nil(t, a.Previous)

	again := assign(t, m, ipam.Request{Key: "batuu/deathstar", Labels: selector.Set{"org": "empire"}})
	assert.Equal(t, a.Addrs, again.Addrs, "Assign is idempotent")
	assert.Equal(t, ipam.Unchanged, again.Reason)

	_, err := m.Assign(ipam.Request{Key: "batuu/xwing", Labels: selector.Set{"org": "alliance"}})
	require.ErrorIs(t, err, ipam.ErrNoPool)
	assert.Contains(t, err.Error(), `"batuu/xwing"`)

	s := poolStatus(t, m, "empire-ip-pool")
	assert.Equal(t, "1", s.Used(ipam.IPv4).String())
	assert.Equal(t, "5", s.Free(ipam.IPv4).String(), "/29 minus first, last and one used")
	assert.Equal(t, "1", s.Used(ipam.IPv6).String())
	wantFree6 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(3))
	assert.Equal(t, wantFree6.String(), s.Free(ipam.IPv6).String())
	assert.Equal(t, 1, s.Services)
	assert.Empty(t, s.Conflicts)
	assert.Equal(t, []ipam.Assignment{{Key: "batuu/deathstar", Pool: "empire-ip-pool", Addrs: a.Addrs}}, m.Assignments())
	got, ok := m.Assignment("batuu/deathstar")
	assert.True(t, ok)
	assert.Equal(t, m.Assignments()[0], got)
	_, ok = m.Assignment("batuu/xwing")
	assert.False(t, ok)
	_, ok = m.Pool("nope")
	assert.False(t, ok)

	require.NoError(t, m.Release("batuu/deathstar"))
	require.ErrorIs(t, m.Release("batuu/deathstar"), ipam.ErrNotFound)
	assert.Equal(t, "0", poolStatus(t, m, "empire-ip-pool").Used(ipam.IPv4).String())
	assert.Empty(t, m.Assignments())
}

func TestManagerFirstLast(t *testing.T) {
	m := ipam.NewManager()
	p := ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/30", "10.0.1.0/31", "10.0.2.1-10.0.2.2")}
	setPool(t, m, p)
	var got []netip.Addr
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		if a, err := m.Assign(ipam.Request{Key: k}); err == nil {
			got = append(got, a.Addrs...)
		} else {
			require.ErrorIs(t, err, ipam.ErrExhausted)
		}
	}
	assert.Equal(t, ips("10.0.0.1", "10.0.0.2", "10.0.1.0", "10.0.1.1", "10.0.2.1", "10.0.2.2"), got,
		"first and last of a /30 are skipped, a /31 and a start-stop range are used whole")

	_, err := m.Assign(ipam.Request{Key: "x", Addrs: ips("10.0.0.3")})
	require.ErrorIs(t, err, ipam.ErrOutOfRange)

	p.AllowFirstLast = true
	setPool(t, m, p)
	a := assign(t, m, ipam.Request{Key: "x", Addrs: ips("10.0.0.3")})
	assert.Equal(t, ips("10.0.0.3"), a.Addrs)
	assert.Equal(t, "1", poolStatus(t, m, "p").Free(ipam.IPv4).String(), "10.0.0.0 is free")
	checkManager(t, m)
}

func TestManagerPriority(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "low", Ranges: rangesOf("10.0.0.1-10.0.0.2")})
	setPool(t, m, ipam.Pool{Name: "b-high", Priority: 10, Ranges: rangesOf("10.1.0.1")})
	setPool(t, m, ipam.Pool{Name: "a-high", Priority: 10, Ranges: rangesOf("10.2.0.1")})
	var names []string
	for _, s := range m.Pools() {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"a-high", "b-high", "low"}, names, "priority descending, then name")

	want := []struct{ pool, addr string }{
		{"a-high", "10.2.0.1"}, {"b-high", "10.1.0.1"}, {"low", "10.0.0.1"}, {"low", "10.0.0.2"},
	}
	for i, w := range want {
		a := assign(t, m, ipam.Request{Key: string(rune('a' + i))})
		assert.Equal(t, w.pool, a.Pool)
		assert.Equal(t, ips(w.addr), a.Addrs)
	}
	_, err := m.Assign(ipam.Request{Key: "z"})
	require.ErrorIs(t, err, ipam.ErrExhausted)
	for _, name := range []string{"a-high", "b-high", "low"} {
		assert.Contains(t, err.Error(), `"`+name+`"`)
	}
	assert.Contains(t, err.Error(), `"z"`)

	// Freeing the preferred pool makes it first choice again.
	require.NoError(t, m.Release("a"))
	a := assign(t, m, ipam.Request{Key: "z"})
	assert.Equal(t, "a-high", a.Pool)

	// A priority change reorders the pools.
	setPool(t, m, ipam.Pool{Name: "low", Priority: 20, Ranges: rangesOf("10.0.0.1-10.0.0.3")})
	a = assign(t, m, ipam.Request{Key: "y"})
	assert.Equal(t, ips("10.0.0.3"), a.Addrs)
	checkManager(t, m)
}

func TestManagerFamilyPolicy(t *testing.T) {
	newM := func(t *testing.T) *ipam.Manager {
		m := ipam.NewManager()
		setPool(t, m, ipam.Pool{Name: "v4only", Priority: 2, Ranges: rangesOf("10.0.0.1-10.0.0.9")})
		setPool(t, m, ipam.Pool{Name: "v6only", Priority: 1, Ranges: rangesOf("2001:db8:6::1-2001:db8:6::9")})
		setPool(t, m, ipam.Pool{Name: "dual", Ranges: rangesOf("10.9.0.1", "2001:db8:9::1")})
		return m
	}
	tests := []struct {
		name   string
		policy ipam.FamilyPolicy
		pool   string
		addrs  []netip.Addr
	}{
		{"prefer takes what the first pool has", ipam.PreferDualStack, "v4only", ips("10.0.0.1")},
		{"require skips single-family pools", ipam.RequireDualStack, "dual", ips("10.9.0.1", "2001:db8:9::1")},
		{"v4", ipam.SingleStackIPv4, "v4only", ips("10.0.0.1")},
		{"v6", ipam.SingleStackIPv6, "v6only", ips("2001:db8:6::1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newM(t)
			a := assign(t, m, ipam.Request{Key: "s", Families: tt.policy})
			assert.Equal(t, tt.pool, a.Pool)
			assert.Equal(t, tt.addrs, a.Addrs)
		})
	}

	t.Run("require fails cleanly", func(t *testing.T) {
		m := newM(t)
		assign(t, m, ipam.Request{Key: "taker", Families: ipam.SingleStackIPv6, Pool: "dual"})
		before := snapshotManager(m)
		_, err := m.Assign(ipam.Request{Key: "s", Families: ipam.RequireDualStack})
		require.ErrorIs(t, err, ipam.ErrExhausted)
		require.ErrorIs(t, err, ipam.ErrFamily, "single-family pools are reported too")
		assert.Equal(t, before, snapshotManager(m), "the v4 address tried in dual is back")
	})
	t.Run("prefer gives what is available", func(t *testing.T) {
		m := newM(t)
		assign(t, m, ipam.Request{Key: "taker", Families: ipam.SingleStackIPv6, Pool: "dual"})
		a := assign(t, m, ipam.Request{Key: "s", Pool: "dual"})
		assert.Equal(t, ips("10.9.0.1"), a.Addrs)
	})
	t.Run("policy change reassigns", func(t *testing.T) {
		m := newM(t)
		assign(t, m, ipam.Request{Key: "s"})
		a := assign(t, m, ipam.Request{Key: "s", Families: ipam.RequireDualStack})
		assert.Equal(t, ipam.RequestChanged, a.Reason)
		assert.Equal(t, "dual", a.Pool)
		require.NotNil(t, a.Previous)
		assert.Equal(t, ips("10.0.0.1"), a.Previous.Addrs)
		assert.Equal(t, "0", poolStatus(t, m, "v4only").Used(ipam.IPv4).String())
		b := assign(t, m, ipam.Request{Key: "s", Families: ipam.PreferDualStack})
		assert.Equal(t, ipam.Unchanged, b.Reason, "dual-stack addresses fit PreferDualStack")
	})
}

func TestManagerSelectors(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "by-name", Priority: 3, Ranges: rangesOf("10.3.0.0/24"),
		ServiceSelector: selector.MustParse(ipam.ServiceNameLabel + "=deathstar")})
	setPool(t, m, ipam.Pool{Name: "by-ns", Priority: 2, Ranges: rangesOf("10.2.0.0/24"),
		ServiceSelector: selector.MustParse(ipam.ServiceNamespaceLabel + "=hoth")})
	setPool(t, m, ipam.Pool{Name: "by-ns-labels", Priority: 1, Ranges: rangesOf("10.1.0.0/24"),
		NamespaceSelector: selector.MustParse("team=rebels")})
	setPool(t, m, ipam.Pool{Name: "by-ns-name", Ranges: rangesOf("10.4.0.0/24"),
		NamespaceSelector: selector.MustParse(ipam.NamespaceNameLabel + "=endor")})
	tests := []struct {
		req  ipam.Request
		pool string
	}{
		{ipam.Request{Key: "batuu/deathstar"}, "by-name"},
		{ipam.Request{Key: "scarif/deathstar"}, "by-name"},
		{ipam.Request{Key: "hoth/echo-base"}, "by-ns"},
		{ipam.Request{Key: "hoth/x", Labels: selector.Set{ipam.ServiceNamespaceLabel: "elsewhere"}}, "by-ns"},
		{ipam.Request{Key: "yavin/base", NamespaceLabels: selector.Set{"team": "rebels"}}, "by-ns-labels"},
		{ipam.Request{Key: "endor/bunker"}, "by-ns-name"},
	}
	for _, tt := range tests {
		a := assign(t, m, tt.req)
		assert.Equal(t, tt.pool, a.Pool, "%+v", tt.req)
	}
	_, err := m.Assign(ipam.Request{Key: "yavin/other"})
	require.ErrorIs(t, err, ipam.ErrNoPool)
}

func TestManagerSelectorChange(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, empirePool())
	setPool(t, m, ipam.Pool{Name: "rebel-pool", Ranges: rangesOf("10.0.0.0/24"),
		ServiceSelector: selector.MustParse("org=rebels")})
	first := assign(t, m, empire("batuu/deathstar"))

	t.Run("service labels", func(t *testing.T) {
		a := assign(t, m, ipam.Request{Key: "batuu/deathstar", Labels: selector.Set{"org": "rebels"}})
		assert.Equal(t, ipam.NotSelected, a.Reason)
		assert.Equal(t, "rebel-pool", a.Pool)
		assert.Equal(t, ips("10.0.0.1"), a.Addrs)
		require.NotNil(t, a.Previous)
		assert.Equal(t, first.Addrs, a.Previous.Addrs)
		assert.Equal(t, "0", poolStatus(t, m, "empire-ip-pool").Used(ipam.IPv4).String())
	})
	t.Run("pool selector", func(t *testing.T) {
		p := empirePool()
		p.ServiceSelector = selector.MustParse("org in (empire, rebels)")
		p.Priority = 1
		setPool(t, m, p)
		a := assign(t, m, ipam.Request{Key: "batuu/deathstar", Labels: selector.Set{"org": "rebels"}})
		assert.Equal(t, ipam.Unchanged, a.Reason, "a higher-priority pool does not move a valid assignment")
		p.ServiceSelector = selector.MustParse("org=empire")
		p.NamespaceSelector = selector.MustParse("sector=outer-rim")
		setPool(t, m, p)
		setPool(t, m, ipam.Pool{Name: "rebel-pool", Ranges: rangesOf("10.0.0.0/24"),
			ServiceSelector: selector.MustParse("org=nobody")})
		a = assign(t, m, ipam.Request{Key: "batuu/deathstar", Labels: selector.Set{"org": "empire"},
			NamespaceLabels: selector.Set{"sector": "outer-rim"}})
		assert.Equal(t, ipam.NotSelected, a.Reason)
		assert.Equal(t, "empire-ip-pool", a.Pool)
	})
	t.Run("no pool left releases the old assignment", func(t *testing.T) {
		held, ok := m.Assignment("batuu/deathstar")
		require.True(t, ok)
		a, err := m.Assign(ipam.Request{Key: "batuu/deathstar", Labels: selector.Set{"org": "jawa"}})
		require.ErrorIs(t, err, ipam.ErrNoPool)
		assert.Contains(t, err.Error(), "released")
		assert.Equal(t, ipam.Released, a.Reason)
		require.NotNil(t, a.Previous)
		assert.Equal(t, held.Addrs, a.Previous.Addrs)
		assert.Empty(t, a.Addrs)
		_, ok = m.Assignment("batuu/deathstar")
		assert.False(t, ok)
		assert.Equal(t, 0, poolStatus(t, m, held.Pool).Services)
		assert.Equal(t, "0", poolStatus(t, m, held.Pool).Used(ipam.IPv4).String())
	})
	checkManager(t, m)
}

func TestManagerPoolDeletion(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, empirePool())
	first := assign(t, m, empire("batuu/deathstar"))
	require.ErrorIs(t, m.DeletePool("nope"), ipam.ErrNotFound)
	require.NoError(t, m.DeletePool("empire-ip-pool"))
	assert.Empty(t, m.Pools())
	as := m.Assignments()
	require.Len(t, as, 1)
	assert.True(t, as[0].Stale)
	assert.Equal(t, first.Addrs, as[0].Addrs)

	setPool(t, m, ipam.Pool{Name: "new-pool", Ranges: rangesOf("10.0.0.0/24")})
	a := assign(t, m, empire("batuu/deathstar"))
	assert.Equal(t, ipam.PoolDeleted, a.Reason)
	assert.Equal(t, ips("10.0.0.1"), a.Addrs)
	assert.False(t, m.Assignments()[0].Stale)

	require.NoError(t, m.DeletePool("new-pool"))
	a, err := m.Assign(empire("batuu/deathstar"))
	require.ErrorIs(t, err, ipam.ErrNoPool)
	assert.Equal(t, ipam.Released, a.Reason, "a stale record that cannot move is released")
	assert.Equal(t, ips("10.0.0.1"), a.Previous.Addrs)
	assert.Empty(t, m.Assignments())
	setPool(t, m, ipam.Pool{Name: "new-pool", Ranges: rangesOf("10.0.0.0/24")})
	a = assign(t, m, empire("batuu/deathstar"))
	assert.Equal(t, ipam.Assigned, a.Reason)

	// A stale record can be released.
	require.NoError(t, m.DeletePool("new-pool"))
	require.NoError(t, m.Release("batuu/deathstar"))
	assert.Empty(t, m.Assignments())

	// Re-creating a pool of the same name does not revive old records.
	setPool(t, m, ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/24")})
	assign(t, m, ipam.Request{Key: "k"})
	require.NoError(t, m.DeletePool("p"))
	setPool(t, m, ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/24")})
	assert.True(t, m.Assignments()[0].Stale)
	a = assign(t, m, ipam.Request{Key: "k"})
	assert.Equal(t, ipam.PoolDeleted, a.Reason)
	checkManager(t, m)
}

func TestManagerPoolUpdateKeepsAssignments(t *testing.T) {
	m := ipam.NewManager()
	p := ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/28", "2001:db8::/120")}
	setPool(t, m, p)
	held := map[string][]netip.Addr{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		held[k] = assign(t, m, ipam.Request{Key: k}).Addrs
	}

	// Growing the pool, changing selectors it still satisfies, strategy:
	// nothing moves.
	p.Ranges = rangesOf("10.0.0.0/28", "10.0.1.0/24", "2001:db8::/120")
	p.Strategy = ipam.Random
	p.ServiceSelector = selector.MustParse("!canary")
	setPool(t, m, p)
	for k, addrs := range held {
		a := assign(t, m, ipam.Request{Key: k})
		assert.Equal(t, ipam.Unchanged, a.Reason, k)
		assert.Equal(t, addrs, a.Addrs, k)
	}

	// Shrinking: 10.0.0.1-10.0.0.4 stay (a start-stop range, used whole),
	// the others leave the pool.
	p.Ranges = rangesOf("10.0.0.1-10.0.0.4", "10.0.1.0/24", "2001:db8::/120")
	p.Strategy = ipam.LowestFirst
	setPool(t, m, p)
	stale := 0
	for _, a := range m.Assignments() {
		if a.Stale {
			stale++
		}
	}
	assert.Equal(t, 4, stale)
	checkManager(t, m)
	for k, addrs := range held {
		a := assign(t, m, ipam.Request{Key: k})
		if addrs[0].Less(ip("10.0.0.5")) {
			assert.Equal(t, ipam.Unchanged, a.Reason, k)
			assert.Equal(t, addrs, a.Addrs, k)
			continue
		}
		assert.Equal(t, ipam.AddrLeftPool, a.Reason, k)
		assert.True(t, ipam.MustParseRange("10.0.1.0/24").Contains(a.Addrs[0]), "%s got %v", k, a.Addrs)
		assert.Equal(t, addrs[1], a.Addrs[1], "%s keeps its IPv6 address", k)
	}
	checkManager(t, m)
}

func TestManagerDisabled(t *testing.T) {
	m := ipam.NewManager()
	p := ipam.Pool{Name: "p", Priority: 1, Ranges: rangesOf("10.0.0.0/24")}
	setPool(t, m, p)
	setPool(t, m, ipam.Pool{Name: "fallback", Ranges: rangesOf("10.1.0.0/24")})
	old := assign(t, m, ipam.Request{Key: "old"})
	p.Disabled = true
	setPool(t, m, p)
	assert.True(t, poolStatus(t, m, "p").Disabled)

	a := assign(t, m, ipam.Request{Key: "old"})
	assert.Equal(t, ipam.Unchanged, a.Reason, "existing assignments stay")
	assert.Equal(t, old.Addrs, a.Addrs)
	a = assign(t, m, ipam.Request{Key: "new"})
	assert.Equal(t, "fallback", a.Pool, "no new assignments")
	_, err := m.Assign(ipam.Request{Key: "named", Pool: "p"})
	require.ErrorIs(t, err, ipam.ErrDisabled)
	assert.Contains(t, err.Error(), `"p"`)
	assert.Contains(t, err.Error(), `"named"`)

	// A new request for one of its addresses is refused; a restore is not.
	_, err = m.Assign(ipam.Request{Key: "restored", Addrs: ips("10.0.0.7")})
	require.ErrorIs(t, err, ipam.ErrDisabled)
	require.NoError(t, m.Restore([]ipam.Request{{Key: "restored", Addrs: ips("10.0.0.7")}})[0])
	a = assign(t, m, ipam.Request{Key: "restored", Addrs: ips("10.0.0.7")})
	assert.Equal(t, ipam.Unchanged, a.Reason)
	assert.Equal(t, "p", a.Pool)
	checkManager(t, m)
}

func TestManagerManualOnly(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "manual", Priority: 1, ManualOnly: true, Ranges: rangesOf("10.0.0.0/24")})
	_, err := m.Assign(ipam.Request{Key: "auto"})
	require.ErrorIs(t, err, ipam.ErrNoPool)
	a := assign(t, m, ipam.Request{Key: "named", Pool: "manual"})
	assert.Equal(t, ips("10.0.0.1"), a.Addrs)
	a = assign(t, m, ipam.Request{Key: "specific", Addrs: ips("10.0.0.9")})
	assert.Equal(t, "manual", a.Pool)
	a = assign(t, m, ipam.Request{Key: "specific"})
	assert.Equal(t, ipam.Unchanged, a.Reason, "an address inside stays valid")
	setPool(t, m, ipam.Pool{Name: "auto", Ranges: rangesOf("10.1.0.0/24")})
	a = assign(t, m, ipam.Request{Key: "named"})
	assert.Equal(t, ipam.Unchanged, a.Reason, "manual-only governs automatic choice, not existing assignments")
	a = assign(t, m, ipam.Request{Key: "other"})
	assert.Equal(t, "auto", a.Pool)
	checkManager(t, m)
}

func TestManagerSpecificAddrs(t *testing.T) {
	newM := func() *ipam.Manager {
		m := ipam.NewManager()
		setPool(t, m, empirePool())
		setPool(t, m, ipam.Pool{Name: "other", Ranges: rangesOf("10.0.0.0/24", "2001:db8:1::/64")})
		assign(t, m, ipam.Request{Key: "holder", Addrs: ips("10.0.0.5")})
		return m
	}
	tests := []struct {
		name string
		req  ipam.Request
		want []error
	}{
		{"in use", ipam.Request{Key: "s", Addrs: ips("10.0.0.5")}, []error{ipam.ErrInUse}},
		{"in use, other sharing key", ipam.Request{Key: "s", Addrs: ips("10.0.0.5"), SharingKey: "k"},
			[]error{ipam.ErrInUse, ipam.ErrSharing}},
		{"in no pool", ipam.Request{Key: "s", Addrs: ips("10.9.0.1")}, []error{ipam.ErrOutOfRange}},
		{"reserved first address", ipam.Request{Key: "s", Addrs: ips("10.0.0.0")}, []error{ipam.ErrOutOfRange}},
		{"pool does not select", ipam.Request{Key: "s", Addrs: ips("172.18.255.201")}, []error{ipam.ErrNoPool}},
		{"different pools", ipam.Request{Key: "s", Labels: selector.Set{"org": "empire"},
			Addrs: ips("172.18.255.201", "2001:db8:1::1")}, []error{ipam.ErrNoPool}},
		{"not in the named pool", ipam.Request{Key: "s", Pool: "empire-ip-pool", Addrs: ips("10.0.0.6")},
			[]error{ipam.ErrOutOfRange}},
		{"family policy", ipam.Request{Key: "s", Families: ipam.SingleStackIPv6, Addrs: ips("10.0.0.6")},
			[]error{ipam.ErrInvalidRequest, ipam.ErrFamily}},
		{"require dual stack", ipam.Request{Key: "s", Families: ipam.RequireDualStack, Addrs: ips("10.0.0.6")},
			[]error{ipam.ErrInvalidRequest, ipam.ErrFamily}},
		{"two of a family", ipam.Request{Key: "s", Addrs: ips("10.0.0.6", "10.0.0.7")}, []error{ipam.ErrInvalidRequest}},
		{"zone", ipam.Request{Key: "s", Addrs: []netip.Addr{ip("2001:db8:1::1%eth0")}}, []error{ipam.ErrInvalidRequest}},
		{"mapped", ipam.Request{Key: "s", Addrs: ips("::ffff:10.0.0.6")}, []error{ipam.ErrInvalidRequest}},
		{"zero addr", ipam.Request{Key: "s", Addrs: []netip.Addr{{}}}, []error{ipam.ErrInvalidRequest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newM()
			before := snapshotManager(m)
			_, err := m.Assign(tt.req)
			for _, w := range tt.want {
				require.ErrorIs(t, err, w)
			}
			assert.Contains(t, err.Error(), `"s"`, "names the service")
			assert.Equal(t, before, snapshotManager(m), "state unchanged")
		})
	}

	m := newM()
	a := assign(t, m, ipam.Request{Key: "s", Addrs: ips("2001:db8:1::77", "10.0.0.77")})
	assert.Equal(t, ips("10.0.0.77", "2001:db8:1::77"), a.Addrs)
	a = assign(t, m, ipam.Request{Key: "s", Addrs: ips("10.0.0.77")})
	assert.Equal(t, ipam.RequestChanged, a.Reason)
	assert.Equal(t, ips("10.0.0.77"), a.Addrs, "keeps the address it still asks for")
	assert.Equal(t, "0", poolStatus(t, m, "other").Used(ipam.IPv6).String())
	a = assign(t, m, ipam.Request{Key: "s"})
	assert.Equal(t, ipam.Unchanged, a.Reason, "a specific address stays valid without the request naming it")
	checkManager(t, m)
}

func TestManagerInvalidInput(t *testing.T) {
	m := ipam.NewManager()
	for _, tt := range []struct {
		name string
		p    ipam.Pool
		want []error
	}{
		{"no name", ipam.Pool{Ranges: rangesOf("10.0.0.0/24")}, []error{ipam.ErrInvalidPool}},
		{"self overlap", ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/24", "10.0.0.7")},
			[]error{ipam.ErrInvalidPool, ipam.ErrOverlap}},
		{"zero range", ipam.Pool{Name: "p", Ranges: []ipam.Range{{}}}, []error{ipam.ErrInvalidPool, ipam.ErrInvalidRange}},
		{"strategy", ipam.Pool{Name: "p", Strategy: 9}, []error{ipam.ErrInvalidPool}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := m.SetPool(tt.p)
			for _, w := range tt.want {
				require.ErrorIs(t, err, w)
			}
			assert.Empty(t, m.Pools())
		})
	}
	setPool(t, m, ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/24")})
	for _, r := range []ipam.Request{
		{},
		{Key: "s", Families: 7},
		{Key: "s", Ports: []ipam.Port{{Protocol: "tcp", Port: 80}}},
		{Key: "s", Ports: []ipam.Port{{Protocol: ipam.TCP}}},
	} {
		_, err := m.Assign(r)
		require.ErrorIs(t, err, ipam.ErrInvalidRequest, "%+v", r)
	}
	_, err := m.Assign(ipam.Request{Key: "s", Pool: "nope"})
	require.ErrorIs(t, err, ipam.ErrNoPool)
	assert.Contains(t, err.Error(), `"nope"`)
	assert.Empty(t, m.Assignments())
}

func TestManagerLogger(t *testing.T) {
	var buf bytes.Buffer
	m := ipam.NewManager(ipam.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	setPool(t, m, empirePool())
	setPool(t, m, ipam.Pool{Name: "clone", Ranges: rangesOf("172.18.255.200/29")})
	assign(t, m, empire("batuu/deathstar"))
	assign(t, m, ipam.Request{Key: "batuu/deathstar", Pool: "empire-ip-pool", Families: ipam.SingleStackIPv4,
		Labels: selector.Set{"org": "empire"}})
	require.NoError(t, m.Release("batuu/deathstar"))
	require.NoError(t, m.DeletePool("empire-ip-pool"))
	out := buf.String()
	for _, want := range []string{"range conflicts", "with_pool=empire-ip-pool", "msg=\"ipam: assigned\"",
		"reassigned", "reason=\"request changed\"", "released", "pool deleted",
		"conflict cleared, now used\" pool=clone range=172.18.255.200/29"} {
		assert.Contains(t, out, want)
	}
	assert.Equal(t, 6, strings.Count(out, "\n"), out)
}

func TestManagerAllocs(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/16", "2001:db8::/64"),
		ServiceSelector: selector.MustParse("org=empire")})
	for i := range 100 {
		assign(t, m, ipam.Request{Key: string(rune('a'+i%26)) + "/" + string(rune('a'+i/26)), Labels: selector.Set{"org": "empire"}})
	}
	req := empire("batuu/deathstar")
	unchanged := testing.AllocsPerRun(100, func() {
		if _, err := m.Assign(req); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, unchanged, 1.0, "idempotent Assign: only the returned Addrs")
	require.NoError(t, m.Release(req.Key))
	cycle := testing.AllocsPerRun(100, func() {
		if _, err := m.Assign(req); err != nil {
			t.Fatal(err)
		}
		if err := m.Release(req.Key); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, cycle, 2.0, "Assign+Release: the record and the returned Addrs (holders are reused)")
}

// Counts are exact for any size, where MetalLB's overflow.
func TestManagerHugeCounts(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "everything", Ranges: rangesOf("0.0.0.0/0", "::/1", "8000::/1")})
	a := assign(t, m, ipam.Request{Key: "s", Families: ipam.RequireDualStack})
	assert.Equal(t, ips("0.0.0.1", "::1"), a.Addrs)
	s := poolStatus(t, m, "everything")
	two := func(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
	assert.Equal(t, new(big.Int).Sub(two(32), big.NewInt(3)).String(), s.Free(ipam.IPv4).String())
	free6 := new(big.Int).Sub(two(128), two(32)) // the IPv4-mapped block is never used
	assert.Equal(t, free6.Sub(free6, big.NewInt(5)).String(), s.Free(ipam.IPv6).String())
	assert.Equal(t, "1", s.Used(ipam.IPv6).String())
	assert.Equal(t, "0", s.Used(0).String(), "no such family")
}

// A reassignment within the same pool keeps the addresses that still fit
// rather than handing out the lowest free ones: a family policy change or
// an address leaving the pool moves only what must move.
func TestManagerReassignKeepsFittingAddrs(t *testing.T) {
	newM := func(t *testing.T) *ipam.Manager {
		m := ipam.NewManager()
		setPool(t, m, ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.1-10.0.0.9", "2001:db8::1-2001:db8::9")})
		assign(t, m, ipam.Request{Key: "a"})
		b := assign(t, m, ipam.Request{Key: "b"})
		require.Equal(t, ips("10.0.0.2", "2001:db8::2"), b.Addrs)
		require.NoError(t, m.Release("a")) // lower addresses are free now
		return m
	}
	t.Run("policy change", func(t *testing.T) {
		m := newM(t)
		b := assign(t, m, ipam.Request{Key: "b", Families: ipam.SingleStackIPv4})
		assert.Equal(t, ipam.RequestChanged, b.Reason)
		assert.Equal(t, ips("10.0.0.2"), b.Addrs)
		b = assign(t, m, ipam.Request{Key: "b", Families: ipam.RequireDualStack})
		assert.Equal(t, ipam.RequestChanged, b.Reason)
		assert.Equal(t, ips("10.0.0.2", "2001:db8::1"), b.Addrs)
	})
	t.Run("address left the pool", func(t *testing.T) {
		m := newM(t)
		setPool(t, m, ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.1-10.0.0.9", "2001:db8::3-2001:db8::9")})
		b := assign(t, m, ipam.Request{Key: "b"})
		assert.Equal(t, ipam.AddrLeftPool, b.Reason)
		assert.Equal(t, ips("10.0.0.2", "2001:db8::3"), b.Addrs)
	})
	t.Run("sharing changed", func(t *testing.T) {
		m := newM(t)
		assign(t, m, ipam.Request{Key: "c", Families: ipam.SingleStackIPv4, Pool: "p", Addrs: ips("10.0.0.5"),
			SharingKey: "k", Ports: []ipam.Port{tcp(80)}})
		d := assign(t, m, ipam.Request{Key: "d", Families: ipam.SingleStackIPv4, SharingKey: "k", Ports: []ipam.Port{tcp(443)}})
		require.Equal(t, ips("10.0.0.5"), d.Addrs, "shares c's address")
		d = assign(t, m, ipam.Request{Key: "d", Families: ipam.SingleStackIPv4, SharingKey: "k", Ports: []ipam.Port{tcp(80)}})
		assert.Equal(t, ipam.SharingChanged, d.Reason)
		assert.Equal(t, ips("10.0.0.1"), d.Addrs, "the shared address collides now: a free one")
		c, ok := m.Assignment("c")
		require.True(t, ok)
		assert.Equal(t, ips("10.0.0.5"), c.Addrs)
	})
}

// A start–stop range is used whole even when it spans exactly a prefix;
// only ranges written as prefixes lose their first and last address.
func TestManagerStartStopUsedWhole(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "span", Ranges: rangesOf("10.88.5.0-10.88.5.255")})
	setPool(t, m, ipam.Pool{Name: "cidr", Ranges: rangesOf("10.88.6.0/24")})
	assert.Equal(t, "256", poolStatus(t, m, "span").Free(ipam.IPv4).String())
	assert.Equal(t, "254", poolStatus(t, m, "cidr").Free(ipam.IPv4).String())
	a := assign(t, m, ipam.Request{Key: "ns/a", Pool: "span"})
	assert.Equal(t, ips("10.88.5.0"), a.Addrs)
	b := assign(t, m, ipam.Request{Key: "ns/b", Addrs: ips("10.88.5.255")})
	assert.Equal(t, "span", b.Pool)
	_, err := m.Assign(ipam.Request{Key: "ns/c", Addrs: ips("10.88.6.255")})
	assert.ErrorIs(t, err, ipam.ErrOutOfRange, "the last address of a /24 is reserved")
	assert.Equal(t, rangesOf("10.88.5.0-10.88.5.255"), poolStatus(t, m, "span").Ranges, "spelling kept")
}
