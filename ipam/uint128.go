package ipam

import (
	"encoding/binary"
	"math/big"
	"math/bits"
	"net/netip"
)

// uint128 is an unsigned 128-bit integer used as the numeric form of an
// address: IPv4 addresses occupy the low 32 bits, IPv6 addresses all 128.
// Arithmetic wraps modulo 2^128.
type uint128 struct{ hi, lo uint64 }

var (
	u128Zero = uint128{}
	u128One  = uint128{0, 1}
	u128Max  = uint128{^uint64(0), ^uint64(0)}
)

// u128From returns the numeric value of a. The zone, if any, is ignored.
func u128From(a netip.Addr) uint128 {
	if a.Is4() {
		b := a.As4()
		return uint128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return uint128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// addr returns u as an address of family f.
func (u uint128) addr(f Family) netip.Addr {
	if f == IPv4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(u.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	return netip.AddrFrom16(b)
}

func (u uint128) isZero() bool { return u.hi == 0 && u.lo == 0 }

func (u uint128) less(v uint128) bool {
	return u.hi < v.hi || (u.hi == v.hi && u.lo < v.lo)
}

func (u uint128) add(v uint128) uint128 {
	lo, c := bits.Add64(u.lo, v.lo, 0)
	hi, _ := bits.Add64(u.hi, v.hi, c)
	return uint128{hi, lo}
}

func (u uint128) sub(v uint128) uint128 {
	lo, b := bits.Sub64(u.lo, v.lo, 0)
	hi, _ := bits.Sub64(u.hi, v.hi, b)
	return uint128{hi, lo}
}

func (u uint128) addOne() uint128 { return u.add(u128One) }
func (u uint128) subOne() uint128 { return u.sub(u128One) }

func (u uint128) and(v uint128) uint128 { return uint128{u.hi & v.hi, u.lo & v.lo} }

// bitLen returns the number of bits needed to represent u.
func (u uint128) bitLen() int {
	if u.hi != 0 {
		return 64 + bits.Len64(u.hi)
	}
	return bits.Len64(u.lo)
}

// onesCount returns the number of one bits in u.
func (u uint128) onesCount() int { return bits.OnesCount64(u.hi) + bits.OnesCount64(u.lo) }

// big returns u as a new big.Int.
func (u uint128) big() *big.Int {
	b := new(big.Int).SetUint64(u.hi)
	b.Lsh(b, 64)
	return b.Or(b, new(big.Int).SetUint64(u.lo))
}

// spanSize returns hi-lo+1 as a big.Int, exact even for the whole IPv6 space.
func spanSize(lo, hi uint128) *big.Int {
	n := hi.sub(lo).big()
	return n.Add(n, big.NewInt(1))
}
