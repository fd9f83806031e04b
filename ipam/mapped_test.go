package ipam

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAllocatorNeverMapped checks that IPv6 ranges spanning the
// IPv4-mapped block ::ffff:0:0/96 never hand out one of its addresses and
// do not count them.
func TestAllocatorNeverMapped(t *testing.T) {
	two32 := new(big.Int).Lsh(big.NewInt(1), 32)
	t.Run("random", func(t *testing.T) {
		a, err := NewAllocator(ranges("::fffe:0:0/95"), WithStrategy(Random), WithRandSource(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		assert.Equal(t, two32.String(), a.Free(IPv6).String(), "only ::fffe:0:0/96 counts")
		for range 1000 {
			x, err := a.Allocate(IPv6)
			require.NoError(t, err)
			require.False(t, x.Is4In6(), "%s", x)
		}
	})
	t.Run("lowest first", func(t *testing.T) {
		a, err := NewAllocator(ranges("::fffe:ffff:ffff-::1:0:0:0"))
		require.NoError(t, err)
		assert.Equal(t, "2", a.Free(IPv6).String())
		assert.Equal(t, addr("::fffe:ffff:ffff"), must(a.Allocate(IPv6)))
		assert.Equal(t, addr("::1:0:0:0"), must(a.Allocate(IPv6)))
		_, err = a.Allocate(IPv6)
		assert.ErrorIs(t, err, ErrExhausted)
	})
	t.Run("excluded like reserved", func(t *testing.T) {
		a, err := NewAllocator(ranges("::/80"), WithFirstLastReserved())
		require.NoError(t, err, "the last address, mapped, is excluded anyway")
		want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 48), two32)
		want.Sub(want, big.NewInt(1)) // :: reserved
		assert.Equal(t, want.String(), a.Free(IPv6).String())
		m := addr("::ffff:10.0.0.1")
		assert.ErrorIs(t, a.AllocateAddr(m), ErrOutOfRange)
		assert.ErrorIs(t, a.Release(m), ErrNotAllocated)
		assert.False(t, a.Allocated(m))
		assert.Equal(t, want.String(), a.Free(IPv6).String(), "refusals change nothing")
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestManagerNeverMapped(t *testing.T) {
	m := NewManager(WithRandSource(rand.NewPCG(3, 4)))
	require.NoError(t, m.SetPool(Pool{Name: "p", Strategy: Random, Ranges: ranges("::fffe:0:0/95")}))
	for i := range 500 {
		a, err := m.Assign(Request{Key: "ns/s" + string(rune('a'+i%26)) + big.NewInt(int64(i)).String()})
		require.NoError(t, err)
		require.False(t, a.Addrs[0].Is4In6(), "%s", a.Addrs[0])
	}
	st, _ := m.Pool("p")
	want := new(big.Int).Lsh(big.NewInt(1), 32)
	want.Sub(want, big.NewInt(1+500)) // first address reserved, 500 used
	assert.Equal(t, want.String(), st.Free(IPv6).String())
}
