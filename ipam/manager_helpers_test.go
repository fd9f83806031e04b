package ipam_test

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

func rangesOf(ss ...string) []ipam.Range {
	rs := make([]ipam.Range, len(ss))
	for i, s := range ss {
		rs[i] = ipam.MustParseRange(s)
	}
	return rs
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func ips(ss ...string) []netip.Addr {
	as := make([]netip.Addr, len(ss))
	for i, s := range ss {
		as[i] = ip(s)
	}
	return as
}

func setPool(t testing.TB, m *ipam.Manager, p ipam.Pool) {
	t.Helper()
	require.NoError(t, m.SetPool(p))
}

func assign(t testing.TB, m *ipam.Manager, r ipam.Request) ipam.Assignment {
	t.Helper()
	a, err := m.Assign(r)
	require.NoError(t, err, "assign %s", r.Key)
	return a
}

func empire(key string) ipam.Request {
	return ipam.Request{Key: key, Labels: selector.Set{"org": "empire"}}
}

// poolStatus returns the status of the pool name.
func poolStatus(t testing.TB, m *ipam.Manager, name string) ipam.PoolStatus {
	t.Helper()
	s, ok := m.Pool(name)
	require.True(t, ok, "no pool %q", name)
	for _, p := range m.Pools() {
		if p.Name == name {
			require.Equal(t, p, s, "Pool and Pools agree")
		}
	}
	return s
}

// state is an observable snapshot of a Manager.
type state struct {
	Assignments []ipam.Assignment
	Pools       []string
}

func snapshotManager(m *ipam.Manager) state {
	var s state
	s.Assignments = m.Assignments()
	for _, p := range m.Pools() {
		s.Pools = append(s.Pools, fmt.Sprintf("%s ranges=%v active=%v conflicts=%v disabled=%v services=%d "+
			"v4=%v/%v v6=%v/%v", p.Name, p.Ranges, p.Active, p.Conflicts, p.Disabled, p.Services,
			p.Used(ipam.IPv4), p.Free(ipam.IPv4), p.Used(ipam.IPv6), p.Free(ipam.IPv6)))
	}
	return s
}

// checkManager checks what must always hold: a live address is held by
// services of one sharing key only (by one service if the key is empty),
// inside a usable range of its pool, and every pool's Used counts exactly
// the distinct live addresses held in it (with stale assignments, within bounds).
func checkManager(t testing.TB, m *ipam.Manager) {
	t.Helper()
	type holder struct {
		pool, sharingKey string
		keys             []string
	}
	held := map[netip.Addr]*holder{}
	used := map[string]map[ipam.Family]int64{}
	staleAddrs := map[string]map[ipam.Family]int64{} // upper bound of live addresses of stale records
	pools := map[string]ipam.PoolStatus{}
	for _, p := range m.Pools() {
		pools[p.Name] = p
	}
	for _, a := range m.Assignments() {
		require.NotEmpty(t, a.Addrs, "%v", a)
		if a.Stale {
			if staleAddrs[a.Pool] == nil {
				staleAddrs[a.Pool] = map[ipam.Family]int64{}
			}
			for _, x := range a.Addrs {
				staleAddrs[a.Pool][ipam.FamilyOf(x)]++
			}
			continue
		}
		p, ok := pools[a.Pool]
		require.True(t, ok, "%v: pool gone but not stale", a)
		for _, x := range a.Addrs {
			inside := false
			for _, r := range p.Active {
				inside = inside || r.Contains(x)
			}
			require.True(t, inside, "%v: %s not in pool's usable ranges %v", a, x, p.Active)
			h := held[x]
			if h == nil {
				h = &holder{pool: a.Pool, sharingKey: a.SharingKey}
				held[x] = h
				if used[a.Pool] == nil {
					used[a.Pool] = map[ipam.Family]int64{}
				}
				used[a.Pool][ipam.FamilyOf(x)]++
			} else {
				require.Equal(t, h.pool, a.Pool, "%s in two pools", x)
				require.NotEmpty(t, a.SharingKey, "%s held by %v and %s", x, h.keys, a.Key)
				require.Equal(t, h.sharingKey, a.SharingKey, "%s held by %v and %s", x, h.keys, a.Key)
			}
			h.keys = append(h.keys, a.Key)
		}
	}
	checkConflicts(t, pools)
	for name, p := range pools {
		for _, f := range []ipam.Family{ipam.IPv4, ipam.IPv6} {
			lo, hi := big.NewInt(used[name][f]), big.NewInt(used[name][f]+staleAddrs[name][f])
			require.True(t, p.Used(f).Cmp(lo) >= 0 && p.Used(f).Cmp(hi) <= 0,
				"pool %s %v used %v, want %v..%v", name, f, p.Used(f), lo, hi)
		}
	}
}

// checkConflicts checks the overlap rules: ranges in use (Active) never
// overlap across pools, and every other range is listed in Conflicts with
// exactly the ranges in use of other pools it overlaps, and there is at
// least one.
func checkConflicts(t testing.TB, pools map[string]ipam.PoolStatus) {
	t.Helper()
	type owned struct {
		pool string
		r    ipam.Range
	}
	var active []owned
	for name, p := range pools {
		for _, r := range p.Active {
			for _, o := range active {
				require.False(t, o.r.Overlaps(r), "%s of %s and %s of %s both in use", o.r, o.pool, r, name)
			}
			active = append(active, owned{name, r})
		}
	}
	for name, p := range pools {
		want := map[string]bool{}
		for _, r := range p.Ranges {
			if slices.Contains(p.Active, r) {
				continue
			}
			n := 0
			for _, o := range active {
				if o.r.Overlaps(r) {
					require.NotEqual(t, name, o.pool)
					want[ipam.Conflict{Range: r, Pool: o.pool, With: o.r}.String()] = true
					n++
				}
			}
			require.NotZero(t, n, "%s of %s unused but overlaps nothing in use", r, name)
		}
		got := map[string]bool{}
		for _, c := range p.Conflicts {
			got[c.String()] = true
		}
		require.Equal(t, want, got, "conflicts of %s", name)
	}
}
