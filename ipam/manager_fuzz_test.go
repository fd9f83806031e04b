package ipam_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// fuzzRanges are candidate pool ranges that overlap each other in many
// ways, so that op sequences exercise the conflict index.
var fuzzRanges = rangesOf(
	"10.0.0.0/28", "10.0.0.0/29", "10.0.0.8/29", "10.0.0.4-10.0.0.11", "10.0.0.15-10.0.0.20",
	"10.0.0.16/28", "10.0.0.0/24", "10.0.0.7", "10.0.1.0/30",
	"2001:db8::/126", "2001:db8::/125", "2001:db8::2-2001:db8::9", "2001:db8::/64", "2001:db8::8/127",
)

// fuzzPool builds pool i%4 from the bits of b and c.
func fuzzPool(i, b, c byte) ipam.Pool {
	p := ipam.Pool{Name: fmt.Sprintf("p%d", i%4), Priority: int(c % 3),
		AllowFirstLast: c&4 != 0, Disabled: c&8 != 0, ManualOnly: c&16 != 0,
		AllowCrossNamespaceSharing: c&32 != 0}
	if c&64 != 0 {
		p.ServiceSelector = selector.MustParse("tier=web")
	}
	if c&128 != 0 {
		p.Strategy = ipam.Random
	}
	bits := uint(b)<<8 | uint(i)
	for j, r := range fuzzRanges {
		if bits&(1<<j) != 0 && bits&(1<<((j+5)%len(fuzzRanges))) == 0 { // few ranges, often overlapping
			p.Ranges = append(p.Ranges, r)
		}
	}
	// Drop ranges overlapping earlier ones of the same pool (invalid).
	var ok []ipam.Range
	for _, r := range p.Ranges {
		clash := false
		for _, o := range ok {
			clash = clash || o.Overlaps(r)
		}
		if !clash {
			ok = append(ok, r)
		}
	}
	p.Ranges = ok
	return p
}

func fuzzRequest(a, b, c byte) ipam.Request {
	r := ipam.Request{Key: fmt.Sprintf("ns%d/s%d", a%2, a%8), Families: ipam.FamilyPolicy(b % 4)}
	if b&4 != 0 {
		r.Labels = selector.Set{"tier": "web"}
	}
	if b&8 != 0 {
		r.SharingKey = "k"
		r.Ports = []ipam.Port{{Protocol: ipam.TCP, Port: uint16(c%3 + 1)}}
	}
	if b&16 != 0 {
		r.Pool = fmt.Sprintf("p%d", c%4)
	}
	if b&32 != 0 {
		r.Families = ipam.PreferDualStack
		if c&1 == 0 {
			r.Addrs = []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, c / 2 % 24})}
		} else {
			r.Addrs = []netip.Addr{netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", c/2%12))}
		}
	}
	return r
}

// FuzzManager runs operation sequences (3 bytes each) on a Manager and
// checks after each that it did not panic, that every refusal left the
// state unchanged, and the invariants of checkManager: addresses held once
// (or shared under one key), exact counts, ranges in use disjoint, every
// unused range in conflict with a range in use.
func FuzzManager(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 2, 3, 3, 0, 0, 4, 5, 6})
	f.Add([]byte{0, 255, 0, 1, 255, 1, 2, 3, 3, 5, 0, 0, 6, 0, 0, 2, 0, 0})
	f.Add([]byte{0, 7, 9, 1, 7, 9, 3, 33, 4, 3, 41, 4, 4, 1, 0, 3, 8, 1, 3, 8, 1})
	f.Fuzz(runManagerOps)
}

func runManagerOps(t *testing.T, ops []byte) {
	if len(ops) > 300 {
		ops = ops[:300]
	}
	m := ipam.NewManager()
	active := map[string][]ipam.Range{}
	for len(ops) >= 3 {
		op, a, b, c := ops[0]%8, ops[0]/8, ops[1], ops[2]
		ops = ops[3:]
		switch op {
		case 0, 1:
			if err := m.SetPool(fuzzPool(a, b, c)); err != nil {
				t.Fatal(err)
			}
		case 2:
			_ = m.DeletePool(fmt.Sprintf("p%d", a%4))
		case 3:
			_ = m.Release(fmt.Sprintf("ns%d/s%d", a%2, a%8))
		case 7:
			checkRestore(t, m, fuzzRequest(a, b, c))
		default:
			checkAssign(t, m, fuzzRequest(a, b, c))
		}
		checkManager(t, m)
		checkStillActive(t, active, m.Pools())
		active = activeRanges(m.Pools())
	}
}

func activeRanges(ps []ipam.PoolStatus) map[string][]ipam.Range {
	a := map[string][]ipam.Range{}
	for _, p := range ps {
		a[p.Name] = p.Active
	}
	return a
}

// checkStillActive checks that a range in use before an operation still is
// if its pool still has it: overlaps never take a range from its pool.
func checkStillActive(t *testing.T, before map[string][]ipam.Range, after []ipam.PoolStatus) {
	t.Helper()
	for _, p := range after {
		for _, r := range before[p.Name] {
			if slices.Contains(p.Ranges, r) && !slices.Contains(p.Active, r) {
				t.Fatalf("%s of pool %s was in use and is no longer: %v", r, p.Name, p.Conflicts)
			}
		}
	}
}

// checkAssign assigns req and checks that a refusal changed nothing but,
// for a service whose assignment was no longer valid, released it.
func checkAssign(t *testing.T, m *ipam.Manager, req ipam.Request) {
	t.Helper()
	held, had := m.Assignment(req.Key)
	before := snapshotManager(m)
	a, err := m.Assign(req)
	if err == nil {
		return
	}
	if a.Reason != ipam.Released {
		if after := snapshotManager(m); fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("refusal %v changed the state:\n%v\n%v", err, before, after)
		}
		return
	}
	if !had || a.Previous == nil || !slices.Equal(a.Previous.Addrs, held.Addrs) || a.Previous.Pool != held.Pool {
		t.Fatalf("released %v, held %v (%v)", a.Previous, held, had)
	}
	if _, ok := m.Assignment(req.Key); ok {
		t.Fatalf("%s still holds addresses after %v", req.Key, err)
	}
	others := func(as []ipam.Assignment) []ipam.Assignment {
		return slices.DeleteFunc(as, func(x ipam.Assignment) bool { return x.Key == req.Key })
	}
	if b, a := others(before.Assignments), others(m.Assignments()); fmt.Sprint(b) != fmt.Sprint(a) {
		t.Fatalf("release of %s changed other assignments:\n%v\n%v", req.Key, b, a)
	}
}

// checkRestore restores req and checks that it then holds exactly its
// addresses, or that the refusal changed nothing.
func checkRestore(t *testing.T, m *ipam.Manager, req ipam.Request) {
	t.Helper()
	before := snapshotManager(m)
	err := m.Restore([]ipam.Request{req})[0]
	if err != nil {
		if after := snapshotManager(m); fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("refused restore %v changed the state:\n%v\n%v", err, before, after)
		}
		return
	}
	a, ok := m.Assignment(req.Key)
	if !ok || !sameAddrs(a.Addrs, req.Addrs) {
		t.Fatalf("restored %v, holds %v (%v)", req.Addrs, a, ok)
	}
}

func sameAddrs(a, b []netip.Addr) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}
