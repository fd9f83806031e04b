package ipam_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/ipam"
)

func conflictStrings(s ipam.PoolStatus) []string {
	var cs []string
	for _, c := range s.Conflicts {
		cs = append(cs, c.String())
	}
	return cs
}

func TestManagerOverlapConflicts(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "a", Ranges: rangesOf("10.0.0.0/24")})
	setPool(t, m, ipam.Pool{Name: "b", Priority: 1, Ranges: rangesOf("10.0.0.128/25", "10.1.0.0/24")})

	b := poolStatus(t, m, "b")
	assert.Equal(t, []string{`10.0.0.128/25 overlaps 10.0.0.0/24 of pool "a"`}, conflictStrings(b))
	assert.Equal(t, rangesOf("10.1.0.0/24"), b.Active, "the rest of the pool works")
	assert.Equal(t, "254", b.Free(ipam.IPv4).String())
	assert.True(t, b.Conflicting())
	assert.False(t, poolStatus(t, m, "a").Conflicting(), "the older pool is untouched")

	a := assign(t, m, ipam.Request{Key: "s"})
	assert.Equal(t, ips("10.1.0.1"), a.Addrs, "b is preferred but its conflicting range is unused")
	x := assign(t, m, ipam.Request{Key: "x", Addrs: ips("10.0.0.200")})
	assert.Equal(t, "a", x.Pool, "an address in the overlap belongs to the older pool")

	// The older pool shrinks: the conflict clears by itself, and a's
	// assignment in the overlap becomes stale.
	setPool(t, m, ipam.Pool{Name: "a", Ranges: rangesOf("10.0.0.0/25")})
	b = poolStatus(t, m, "b")
	assert.Empty(t, b.Conflicts)
	assert.Equal(t, rangesOf("10.0.0.128/25", "10.1.0.0/24"), b.Active)
	assert.Equal(t, "379", b.Free(ipam.IPv4).String(), "126 + 254 - the address of s")
	x = assign(t, m, ipam.Request{Key: "x"})
	assert.Equal(t, ipam.AddrLeftPool, x.Reason)
	assert.Equal(t, "b", x.Pool)

	// A's new range overlapping b's range in use conflicts (a's update is
	// the newer claim); a's kept range keeps working.
	setPool(t, m, ipam.Pool{Name: "a", Ranges: rangesOf("10.0.0.0/25", "10.1.0.0/16")})
	assert.Equal(t, []string{`10.1.0.0/16 overlaps 10.1.0.0/24 of pool "b"`}, conflictStrings(poolStatus(t, m, "a")))
	assert.Empty(t, poolStatus(t, m, "b").Conflicts)

	// Deleting b clears it.
	require.NoError(t, m.DeletePool("b"))
	assert.Empty(t, poolStatus(t, m, "a").Conflicts)
	assert.Equal(t, rangesOf("10.0.0.0/25", "10.1.0.0/16"), poolStatus(t, m, "a").Active)
	checkManager(t, m)
}

func TestManagerConflictIPv6AndMultiple(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "a", Ranges: rangesOf("2001:db8::/64", "10.0.0.0/24")})
	setPool(t, m, ipam.Pool{Name: "b", Ranges: rangesOf("2001:db8:0:1::/64")})
	setPool(t, m, ipam.Pool{Name: "wide", Ranges: rangesOf("2001:db8::/48", "10.0.0.0/8")})
	assert.Equal(t, []string{
		`10.0.0.0/8 overlaps 10.0.0.0/24 of pool "a"`,
		`2001:db8::/48 overlaps 2001:db8::/64 of pool "a"`,
		`2001:db8::/48 overlaps 2001:db8:0:1::/64 of pool "b"`,
	}, conflictStrings(poolStatus(t, m, "wide")))
	require.NoError(t, m.DeletePool("a"))
	assert.Equal(t, []string{`2001:db8::/48 overlaps 2001:db8:0:1::/64 of pool "b"`},
		conflictStrings(poolStatus(t, m, "wide")), "cleared only where nothing else blocks")
	assert.Equal(t, rangesOf("10.0.0.0/8"), poolStatus(t, m, "wide").Active)
	require.NoError(t, m.DeletePool("b"))
	assert.Empty(t, poolStatus(t, m, "wide").Conflicts)
	_, err := m.Assign(ipam.Request{Key: "s", Families: ipam.RequireDualStack})
	require.NoError(t, err)
}

// A pool growing over a conflicting range of another pool keeps its
// addresses: the range in use wins, whatever the age of the other one.
func TestManagerConflictGrowOverConflicting(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "a", Ranges: rangesOf("10.0.0.0/24")})
	setPool(t, m, ipam.Pool{Name: "b", Ranges: rangesOf("10.0.0.128/25")})
	held := assign(t, m, ipam.Request{Key: "s", Addrs: ips("10.0.0.10")})
	setPool(t, m, ipam.Pool{Name: "a", Ranges: rangesOf("10.0.0.0/23")})
	assert.Equal(t, rangesOf("10.0.0.0/23"), poolStatus(t, m, "a").Active)
	assert.Equal(t, []string{`10.0.0.128/25 overlaps 10.0.0.0/23 of pool "a"`}, conflictStrings(poolStatus(t, m, "b")))
	a := assign(t, m, ipam.Request{Key: "s", Addrs: ips("10.0.0.10")})
	assert.Equal(t, ipam.Unchanged, a.Reason)
	assert.Equal(t, held.Addrs, a.Addrs)
	checkManager(t, m)
}

// Ranges in use never overlap; a range whose blockers go away is used only
// if it overlaps no range in use, oldest first.
func TestManagerConflictChain(t *testing.T) {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "a", Ranges: rangesOf("10.0.0.0-10.0.0.9")})
	setPool(t, m, ipam.Pool{Name: "b", Ranges: rangesOf("10.0.0.5-10.0.0.14")})
	setPool(t, m, ipam.Pool{Name: "c", Ranges: rangesOf("10.0.0.12-10.0.0.20")}) // overlaps b only, b unused
	setPool(t, m, ipam.Pool{Name: "d", Ranges: rangesOf("10.0.0.10-10.0.0.11")}) // overlaps b only
	assert.Empty(t, poolStatus(t, m, "c").Conflicts, "b is not in use, so c does not conflict")
	assert.Empty(t, poolStatus(t, m, "d").Conflicts)
	require.NoError(t, m.DeletePool("a"))
	assert.Equal(t, []string{
		`10.0.0.5-10.0.0.14 overlaps 10.0.0.10-10.0.0.11 of pool "d"`,
		`10.0.0.5-10.0.0.14 overlaps 10.0.0.12-10.0.0.20 of pool "c"`,
	}, conflictStrings(poolStatus(t, m, "b")))
	require.NoError(t, m.DeletePool("c"))
	assert.Len(t, poolStatus(t, m, "b").Conflicts, 1)
	require.NoError(t, m.DeletePool("d"))
	assert.Empty(t, poolStatus(t, m, "b").Conflicts)
}

// Many pools overlapping one range: deleting the blocker frees the oldest
// conflicting pool, which then blocks the others.
func TestManagerConflictOldestWins(t *testing.T) {
	m := ipam.NewManager()
	for i := range 5 {
		setPool(t, m, ipam.Pool{Name: fmt.Sprintf("p%d", 4-i), Ranges: rangesOf("10.0.0.0/24")})
	}
	for i := range 4 {
		require.NoError(t, m.DeletePool(fmt.Sprintf("p%d", 4-i)))
		next := fmt.Sprintf("p%d", 3-i)
		assert.Empty(t, poolStatus(t, m, next).Conflicts, "%s is the oldest left", next)
		for j := range 3 - i {
			assert.Equal(t, []string{`10.0.0.0/24 overlaps 10.0.0.0/24 of pool "` + next + `"`},
				conflictStrings(poolStatus(t, m, fmt.Sprintf("p%d", j))))
		}
	}
}
