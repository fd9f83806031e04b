package ipam_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// restorePools are the pools of the restart tests: dual-stack with the
// Random strategy, sharing, IPv6 only, ManualOnly, one that restoreManager
// disables after assigning, and one whose first range conflicts.
func restorePools() []ipam.Pool {
	return []ipam.Pool{
		{Name: "random-dual", Priority: 2, Strategy: ipam.Random,
			Ranges:          rangesOf("10.1.0.0/16", "2001:db8:1::/64"),
			ServiceSelector: selector.MustParse("tier=web")},
		{Name: "shared", Priority: 1, Ranges: rangesOf("10.2.0.0/18", "10.2.64.1-10.2.80.7"),
			AllowCrossNamespaceSharing: true},
		{Name: "v6", Ranges: rangesOf("2001:db8:2::/112")},
		{Name: "manual", ManualOnly: true, Ranges: rangesOf("10.3.0.0/16")},
		{Name: "retired", Priority: 3, Ranges: rangesOf("10.4.0.0/18", "2001:db8:4::/112"),
			ServiceSelector: selector.MustParse("tier=old")},
		{Name: "late", Priority: 4, Ranges: rangesOf("10.2.8.0/24", "10.5.0.0-10.5.255.255"),
			ServiceSelector: selector.MustParse("tier=late")},
	}
}

// restoreRequest returns the request of service i: a mix of pools, family
// policies and sharing (20% of the services share addresses).
func restoreRequest(i int) ipam.Request {
	r := ipam.Request{Key: fmt.Sprintf("ns%d/svc%d", i%7, i), Ports: []ipam.Port{tcp(uint16(1 + i%50))}}
	switch i % 5 {
	case 0, 1:
		r.Labels = selector.Set{"tier": "web"}
	case 2:
		r.SharingKey = fmt.Sprintf("key%d", i%13)
	case 3:
		r.Families = ipam.SingleStackIPv6
		switch i % 25 {
		case 3:
			r.Labels, r.Families = selector.Set{"tier": "old"}, ipam.PreferDualStack
		case 8:
			r.Labels, r.Families = selector.Set{"tier": "late"}, ipam.SingleStackIPv4
		}
	case 4:
		r.Pool = "manual"
	}
	return r
}

// restoreManager returns a manager with the pools of restorePools, n
// services assigned, then the pool "retired" disabled (its services keep
// their addresses), and the pools as configured at the end.
func restoreManager(tb testing.TB, n int, opts ...ipam.ManagerOption) (*ipam.Manager, []ipam.Pool) {
	m := ipam.NewManager(opts...)
	pools := restorePools()
	for _, p := range pools {
		setPool(tb, m, p)
	}
	for i := range n {
		assign(tb, m, restoreRequest(i))
	}
	pools[4].Disabled = true
	setPool(tb, m, pools[4])
	return m, pools
}

// restoreRequests returns the requests restoring every assignment of m, in
// a shuffled order.
func restoreRequests(m *ipam.Manager, n int, seed uint64) []ipam.Request {
	held := map[string][]netip.Addr{}
	for _, a := range m.Assignments() {
		held[a.Key] = a.Addrs
	}
	reqs := make([]ipam.Request, 0, n)
	for _, i := range rand.New(rand.NewPCG(seed, 4)).Perm(n) {
		r := restoreRequest(i)
		r.Addrs = held[r.Key]
		reqs = append(reqs, r)
	}
	return reqs
}

// After a restart, a new Manager restored from the old one's assignments in
// any order, then asked to ensure every service, moves nothing.
func TestManagerRestart(t *testing.T) {
	const n = 10_000
	m, pools := restoreManager(t, n, ipam.WithRandSource(rand.NewPCG(1, 2)))
	before := m.Assignments()
	require.Len(t, before, n)
	byPool := map[string]int{}
	for _, a := range before {
		byPool[a.Pool]++
	}
	for _, p := range pools {
		require.NotZero(t, byPool[p.Name], "pool %s serves some services", p.Name)
	}
	require.NotEmpty(t, poolStatus(t, m, "late").Conflicts)
	checkManager(t, m)

	m2 := ipam.NewManager()
	for _, p := range pools {
		setPool(t, m2, p)
	}
	reqs := restoreRequests(m, n, 3)
	for i, err := range m2.Restore(reqs) {
		require.NoError(t, err, reqs[i].Key)
	}
	for i := range n {
		a := assign(t, m2, restoreRequest(i))
		require.Equal(t, ipam.Unchanged, a.Reason, a.Key)
	}
	assert.Equal(t, before, m2.Assignments(), "nothing moved")
	assert.Equal(t, snapshotManager(m).Pools, snapshotManager(m2).Pools, "same counts")
	// New services get other addresses; none comes from the disabled pool.
	seen := map[netip.Addr]bool{}
	for _, a := range before {
		for _, x := range a.Addrs {
			seen[x] = true
		}
	}
	for i := n; i < n+100; i++ {
		r := restoreRequest(i)
		if r.SharingKey != "" {
			continue
		}
		a := assign(t, m2, r)
		assert.NotEqual(t, "retired", a.Pool, "a disabled pool makes no new assignments")
		for _, x := range a.Addrs {
			assert.False(t, seen[x], "%s got %s, already held", r.Key, x)
		}
	}
	checkManager(t, m2)
}

func TestManagerConcurrent(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "small", Priority: 3, Ranges: rangesOf("10.0.0.0/28", "2001:db8::/124")})
	setPool(t, m, ipam.Pool{Name: "web", Priority: 2, Ranges: rangesOf("10.1.0.0/24"),
		ServiceSelector: selector.MustParse("tier=web")})
	setPool(t, m, ipam.Pool{Name: "random", Priority: 1, Strategy: ipam.Random,
		Ranges: rangesOf("10.2.0.0/22", "2001:db8:2::/64")})
	setPool(t, m, ipam.Pool{Name: "big", Ranges: rangesOf("10.3.0.0/16")})
	const workers, ops, keys = 8, 400, 64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 99))
			for range ops {
				key := fmt.Sprintf("ns/s%d", rnd.IntN(keys))
				switch rnd.IntN(6) {
				case 0, 1:
					_ = m.Release(key) // may be ErrNotFound
				case 2:
					m.Pools()
					m.Assignments()
				default:
					r := ipam.Request{Key: key, Families: ipam.FamilyPolicy(rnd.IntN(4))}
					if rnd.IntN(2) == 0 {
						r.Labels = selector.Set{"tier": "web"}
					}
					_, err := m.Assign(r)
					if err != nil {
						assert.ErrorIs(t, err, ipam.ErrExhausted) // only "small" can run out, and then others serve
					}
				}
			}
		})
	}
	wg.Wait()
	checkManager(t, m)
	// Exact counts: the pools' Used equal the distinct addresses held.
	used := map[string]int{}
	for _, a := range m.Assignments() {
		require.False(t, a.Stale)
		used[a.Pool] += len(a.Addrs)
	}
	for _, p := range m.Pools() {
		total := p.Used(ipam.IPv4).Int64() + p.Used(ipam.IPv6).Int64()
		assert.Equal(t, int64(used[p.Name]), total, p.Name)
	}
}

// Pools change while services are assigned and released: afterwards the
// invariants hold, and re-assigning every service leaves nothing stale.
func TestManagerConcurrentPoolChurn(t *testing.T) {
	m := ipam.NewManager()
	pools := []ipam.Pool{
		{Name: "a", Priority: 1, Ranges: rangesOf("10.0.0.0/26", "2001:db8::/120")},
		{Name: "b", Ranges: rangesOf("10.0.0.32/27", "10.1.0.0/26")}, // overlaps a
		{Name: "c", Strategy: ipam.Random, Ranges: rangesOf("10.2.0.0/24", "2001:db8:2::/64")},
	}
	for _, p := range pools {
		setPool(t, m, p)
	}
	const keys = 48
	var wg sync.WaitGroup
	wg.Go(func() {
		rnd := rand.New(rand.NewPCG(1, 1))
		for range 150 {
			p := pools[rnd.IntN(len(pools))]
			switch rnd.IntN(4) {
			case 0:
				_ = m.DeletePool(p.Name)
			case 1:
				p.Disabled = true
				fallthrough
			default:
				p.Ranges = p.Ranges[:1+rnd.IntN(len(p.Ranges))]
				assert.NoError(t, m.SetPool(p))
			}
		}
		for _, p := range pools {
			assert.NoError(t, m.SetPool(p))
		}
	})
	for w := range 4 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 2))
			for range 300 {
				key := fmt.Sprintf("ns/s%d", rnd.IntN(keys))
				if rnd.IntN(3) == 0 {
					_ = m.Release(key)
					continue
				}
				_, _ = m.Assign(ipam.Request{Key: key, Families: ipam.FamilyPolicy(rnd.IntN(4))})
			}
		})
	}
	wg.Wait()
	checkManager(t, m)
	for _, a := range m.Assignments() {
		_, err := m.Assign(ipam.Request{Key: a.Key, Families: ipam.SingleStackIPv4})
		require.NoError(t, err)
	}
	for _, a := range m.Assignments() {
		require.False(t, a.Stale, "%v", a)
	}
	checkManager(t, m)
}
