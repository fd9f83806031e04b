package ipam_test

import (
	"cmp"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// The reference model of the Manager: pools are small, enumerated address
// sets in disjoint regions (pool i owns 10.0.i.0/27 and 2001:db8:i::/125),
// assignments are maps. Everything is computed by brute force.

type modelPool struct {
	cfg   ipam.Pool
	gen   int
	addrs map[netip.Addr]bool // usable addresses
}

type modelRec struct {
	pool  string
	gen   int
	addrs []netip.Addr
	live  map[netip.Addr]bool
}

type managerModel struct {
	pools map[string]*modelPool
	recs  map[string]*modelRec
	gen   int
}

func (p *modelPool) usable() map[netip.Addr]bool {
	set := map[netip.Addr]bool{}
	for _, r := range p.cfg.Ranges {
		_, isPrefix := r.Prefix()
		skipEnds := isPrefix && r.Size().Cmp(big.NewInt(2)) > 0 && !p.cfg.AllowFirstLast
		for a := r.From(); r.Contains(a); a = a.Next() {
			if !(skipEnds && (a == r.From() || a == r.To())) {
				set[a] = true
			}
			if a == r.To() {
				break
			}
		}
	}
	return set
}

func (mm *managerModel) setPool(cfg ipam.Pool) {
	p := mm.pools[cfg.Name]
	if p == nil {
		mm.gen++
		p = &modelPool{gen: mm.gen}
		mm.pools[cfg.Name] = p
	}
	p.cfg = cfg
	p.addrs = p.usable()
	for _, r := range mm.recs {
		if r.pool == cfg.Name && r.gen == p.gen {
			for a := range r.live {
				if !p.addrs[a] {
					delete(r.live, a)
				}
			}
		}
	}
}

func (mm *managerModel) deletePool(name string) { delete(mm.pools, name) }

// heldBy returns the key holding a (live), or "".
func (mm *managerModel) heldBy(a netip.Addr) string {
	for k, r := range mm.recs {
		if r.live[a] && mm.pools[r.pool] != nil && mm.pools[r.pool].gen == r.gen {
			return k
		}
	}
	return ""
}

func (mm *managerModel) stale(r *modelRec) bool {
	p := mm.pools[r.pool]
	return p == nil || p.gen != r.gen || len(r.live) != len(r.addrs)
}

func (mm *managerModel) order() []*modelPool {
	ps := slices.Collect(func(yield func(*modelPool) bool) {
		for _, p := range mm.pools {
			if !yield(p) {
				return
			}
		}
	})
	slices.SortFunc(ps, func(a, b *modelPool) int {
		return cmp.Or(cmp.Compare(b.cfg.Priority, a.cfg.Priority), strings.Compare(a.cfg.Name, b.cfg.Name))
	})
	return ps
}

func fits(policy ipam.FamilyPolicy, addrs []netip.Addr) bool {
	has4 := slices.ContainsFunc(addrs, netip.Addr.Is4)
	has6 := slices.ContainsFunc(addrs, netip.Addr.Is6)
	switch policy {
	case ipam.SingleStackIPv4:
		return has4 && !has6
	case ipam.SingleStackIPv6:
		return has6 && !has4
	case ipam.RequireDualStack:
		return has4 && has6
	}
	return has4 || has6
}

// reason returns why the record of req.Key does not fit req, or Unchanged.
func (mm *managerModel) reason(req ipam.Request) (ipam.Reason, bool) {
	r := mm.recs[req.Key]
	if r == nil {
		return ipam.Assigned, false
	}
	p := mm.pools[r.pool]
	switch {
	case p == nil || p.gen != r.gen:
		return ipam.PoolDeleted, true
	case len(r.live) != len(r.addrs):
		return ipam.AddrLeftPool, true
	case req.Pool != "" && req.Pool != r.pool,
		len(req.Addrs) > 0 && !slices.Equal(req.Addrs, r.addrs), !fits(req.Families, r.addrs):
		return ipam.RequestChanged, true
	case !p.cfg.ServiceSelector.Matches(req.Labels):
		return ipam.NotSelected, true
	}
	return ipam.Unchanged, true
}

// assign returns the expected addresses, pool and reason, or ok false for
// a refusal (with reason Released if the service's invalid record was
// dropped), and applies the result.
func (mm *managerModel) assign(req ipam.Request) (addrs []netip.Addr, pool string, reason ipam.Reason, ok bool) {
	reason, had := mm.reason(req)
	if reason == ipam.Unchanged {
		r := mm.recs[req.Key]
		return r.addrs, r.pool, reason, true
	}
	old := mm.recs[req.Key]
	delete(mm.recs, req.Key) // its addresses are free for the new choice
	var p *modelPool
	if len(req.Addrs) > 0 {
		p, addrs = mm.specific(req, false)
	} else {
		p, addrs = mm.auto(req, old)
	}
	if p == nil {
		if had {
			return nil, "", ipam.Released, false
		}
		return nil, "", 0, false
	}
	live := map[netip.Addr]bool{}
	for _, a := range addrs {
		live[a] = true
	}
	mm.recs[req.Key] = &modelRec{pool: p.cfg.Name, gen: p.gen, addrs: addrs, live: live}
	return addrs, p.cfg.Name, reason, true
}

// specific returns the pool giving req its addresses, if any; only a
// restore takes them from a disabled pool.
func (mm *managerModel) specific(req ipam.Request, restore bool) (*modelPool, []netip.Addr) {
	a := req.Addrs[0]
	for _, p := range mm.pools {
		if slices.ContainsFunc(p.cfg.Ranges, func(r ipam.Range) bool { return r.Contains(a) }) {
			if (req.Pool == "" || req.Pool == p.cfg.Name) && p.cfg.ServiceSelector.Matches(req.Labels) &&
				p.addrs[a] && mm.heldBy(a) == "" && (restore || !p.cfg.Disabled) {
				return p, req.Addrs
			}
			return nil, nil
		}
	}
	return nil, nil
}

// auto picks the first pool that can serve req: of each family, the
// address old (the replaced record, or nil) held there if still usable,
// else the lowest free one.
func (mm *managerModel) auto(req ipam.Request, old *modelRec) (*modelPool, []netip.Addr) {
	for _, p := range mm.order() {
		if p.cfg.Disabled || !p.cfg.ServiceSelector.Matches(req.Labels) ||
			(req.Pool == "" && p.cfg.ManualOnly) || (req.Pool != "" && req.Pool != p.cfg.Name) {
			continue
		}
		var got []netip.Addr
		missing := false
		for _, f := range []ipam.Family{ipam.IPv4, ipam.IPv6} {
			if (req.Families == ipam.SingleStackIPv4 && f != ipam.IPv4) ||
				(req.Families == ipam.SingleStackIPv6 && f != ipam.IPv6) {
				continue
			}
			if a, ok := mm.kept(old, p, f); ok {
				got = append(got, a)
			} else if a, ok := mm.lowestFree(p, f); ok {
				got = append(got, a)
			} else {
				missing = true
			}
		}
		if len(got) > 0 && (req.Families == ipam.PreferDualStack || !missing) {
			return p, got
		}
	}
	return nil, nil
}

// kept returns the live address of family f that old held in p or, if
// old's pool was deleted, its address of family f if p can give it.
func (mm *managerModel) kept(old *modelRec, p *modelPool, f ipam.Family) (netip.Addr, bool) {
	if old == nil {
		return netip.Addr{}, false
	}
	if q := mm.pools[old.pool]; q == nil || q.gen != old.gen {
		for _, a := range old.addrs {
			if ipam.FamilyOf(a) == f && p.addrs[a] && mm.heldBy(a) == "" {
				return a, true
			}
		}
		return netip.Addr{}, false
	}
	if old.pool != p.cfg.Name {
		return netip.Addr{}, false
	}
	for a := range old.live {
		if ipam.FamilyOf(a) == f {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func (mm *managerModel) lowestFree(p *modelPool, f ipam.Family) (netip.Addr, bool) {
	var best netip.Addr
	for a := range p.addrs {
		if ipam.FamilyOf(a) == f && mm.heldBy(a) == "" && (!best.IsValid() || a.Less(best)) {
			best = a
		}
	}
	return best, best.IsValid()
}

// assignments returns what Manager.Assignments should.
func (mm *managerModel) assignments() []ipam.Assignment {
	as := []ipam.Assignment{}
	for k, r := range mm.recs {
		as = append(as, ipam.Assignment{Key: k, Pool: r.pool, Addrs: r.addrs, Stale: mm.stale(r)})
	}
	slices.SortFunc(as, func(a, b ipam.Assignment) int { return strings.Compare(a.Key, b.Key) })
	return as
}

// used returns the live addresses of family f held in pool name.
func (mm *managerModel) used(name string, f ipam.Family) int64 {
	var n int64
	for _, r := range mm.recs {
		if r.pool == name && r.gen == mm.pools[name].gen {
			for a := range r.live {
				if ipam.FamilyOf(a) == f {
					n++
				}
			}
		}
	}
	return n
}

var (
	modelV4 = [][]string{{}, {"10.0.%d.0/29"}, {"10.0.%d.0/29", "10.0.%d.16/30"}, {"10.0.%d.0/28"},
		{"10.0.%d.2-10.0.%d.6"}, {"10.0.%d.4-10.0.%d.12", "10.0.%d.16/31"}}
	modelV6   = [][]string{{}, {"2001:db8:%d::/126"}, {"2001:db8:%d::/125"}, {"2001:db8:%d::1-2001:db8:%d::3"}}
	modelSels = []string{"", "tier=web", "tier!=web"}
	modelTier = []string{"", "web", "db"}
)

func modelRanges(rnd *rand.Rand, i int) []ipam.Range {
	var rs []ipam.Range
	for _, opts := range [][][]string{modelV4, modelV6} {
		for _, tmpl := range opts[rnd.IntN(len(opts))] {
			s := strings.ReplaceAll(tmpl, "%d", fmt.Sprint(i))
			rs = append(rs, ipam.MustParseRange(s))
		}
	}
	return rs
}

func randomModelPool(rnd *rand.Rand, i int) ipam.Pool {
	return ipam.Pool{
		Name:            fmt.Sprintf("pool%d", i),
		Ranges:          modelRanges(rnd, i),
		ServiceSelector: selector.MustParse(modelSels[rnd.IntN(len(modelSels))]),
		Priority:        rnd.IntN(3),
		AllowFirstLast:  rnd.IntN(2) == 0,
		Disabled:        rnd.IntN(6) == 0,
		ManualOnly:      rnd.IntN(5) == 0,
	}
}

func randomModelRequest(rnd *rand.Rand) ipam.Request {
	r := ipam.Request{Key: fmt.Sprintf("ns/s%d", rnd.IntN(12)), Families: ipam.FamilyPolicy(rnd.IntN(4))}
	if t := modelTier[rnd.IntN(len(modelTier))]; t != "" {
		r.Labels = selector.Set{"tier": t}
	}
	if rnd.IntN(5) == 0 {
		r.Pool = fmt.Sprintf("pool%d", rnd.IntN(4))
	}
	if rnd.IntN(4) == 0 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(rnd.IntN(4)), byte(rnd.IntN(20))})
		if rnd.IntN(2) == 0 {
			a = netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::%d", rnd.IntN(4), rnd.IntN(8)))
		}
		r.Addrs = []netip.Addr{a}
		r.Families = ipam.PreferDualStack
	}
	return r
}

func TestManagerReferenceModel(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 7))
			m := ipam.NewManager()
			mm := &managerModel{pools: map[string]*modelPool{}, recs: map[string]*modelRec{}}
			for i := range 4 {
				p := randomModelPool(rnd, i)
				setPool(t, m, p)
				mm.setPool(p)
			}
			for step := range 300 {
				op := mm.step(t, m, rnd)
				require.Equal(t, mm.assignments(), m.Assignments(), "step %d: %s", step, op)
				for _, s := range m.Pools() {
					for _, f := range []ipam.Family{ipam.IPv4, ipam.IPv6} {
						require.Equal(t, mm.used(s.Name, f), s.Used(f).Int64(), "step %d: %s: %s %v", step, op, s.Name, f)
					}
				}
			}
		})
	}
}

// step applies one random operation to m and mm, checks its result and
// returns its description.
func (mm *managerModel) step(t *testing.T, m *ipam.Manager, rnd *rand.Rand) string {
	switch n := rnd.IntN(20); {
	case n == 0:
		p := randomModelPool(rnd, rnd.IntN(4))
		setPool(t, m, p)
		mm.setPool(p)
		return fmt.Sprintf("SetPool(%s %v sel=%q prio=%d firstLast=%v disabled=%v manual=%v)", p.Name, p.Ranges,
			p.ServiceSelector, p.Priority, p.AllowFirstLast, p.Disabled, p.ManualOnly)
	case n == 1:
		name := fmt.Sprintf("pool%d", rnd.IntN(4))
		err := m.DeletePool(name)
		if _, ok := mm.pools[name]; ok {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, ipam.ErrNotFound)
		}
		mm.deletePool(name)
		return "DeletePool(" + name + ")"
	case n < 6:
		key := fmt.Sprintf("ns/s%d", rnd.IntN(12))
		err := m.Release(key)
		if _, ok := mm.recs[key]; ok {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, ipam.ErrNotFound)
		}
		delete(mm.recs, key)
		return "Release(" + key + ")"
	case n < 8:
		return mm.restoreStep(t, m, rnd)
	}
	req := randomModelRequest(rnd)
	op := fmt.Sprintf("Assign(%s labels=%v %v addrs=%v pool=%q)", req.Key, req.Labels, req.Families, req.Addrs, req.Pool)
	addrs, pool, reason, ok := mm.assign(req)
	a, err := m.Assign(req)
	if !ok {
		require.Error(t, err, op)
		require.Equal(t, reason, a.Reason, op)
		return op
	}
	require.NoError(t, err, op)
	require.Equal(t, addrs, a.Addrs, op)
	require.Equal(t, pool, a.Pool, op)
	require.Equal(t, reason, a.Reason, op)
	return op
}

// restore applies a Restore of reqs (one address each) to the model and
// returns which succeeded: requests are applied in address order.
func (mm *managerModel) restore(reqs []ipam.Request) []bool {
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		return cmp.Or(reqs[i].Addrs[0].Compare(reqs[j].Addrs[0]), strings.Compare(reqs[i].Key, reqs[j].Key), i-j)
	})
	ok := make([]bool, len(reqs))
	for _, i := range order {
		req := reqs[i]
		if _, had := mm.recs[req.Key]; had {
			reason, _ := mm.reason(req)
			ok[i] = reason == ipam.Unchanged
			continue
		}
		p, addrs := mm.specific(req, true)
		if p == nil || !fits(req.Families, addrs) {
			continue
		}
		live := map[netip.Addr]bool{}
		for _, a := range addrs {
			live[a] = true
		}
		mm.recs[req.Key] = &modelRec{pool: p.cfg.Name, gen: p.gen, addrs: addrs, live: live}
		ok[i] = true
	}
	return ok
}

// restoreStep restores one to three random requests for specific
// addresses and checks which succeed.
func (mm *managerModel) restoreStep(t *testing.T, m *ipam.Manager, rnd *rand.Rand) string {
	var reqs []ipam.Request
	for len(reqs) < 1+rnd.IntN(3) {
		if r := randomModelRequest(rnd); len(r.Addrs) > 0 {
			reqs = append(reqs, r)
		}
	}
	op := fmt.Sprintf("Restore(%v)", reqs)
	want := mm.restore(reqs)
	errs := m.Restore(reqs)
	require.Len(t, errs, len(reqs))
	for i, err := range errs {
		require.Equal(t, want[i], err == nil, "%s: request %d: %v", op, i, err)
	}
	return op
}
