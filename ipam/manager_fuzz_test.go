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
		default:
			before := snapshotManager(m)
			if _, err := m.Assign(fuzzRequest(a, b, c)); err != nil {
				after := snapshotManager(m)
				if fmt.Sprint(before) != fmt.Sprint(after) {
					t.Fatalf("refusal %v changed the state:\n%v\n%v", err, before, after)
				}
			}
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
