package ipam

import (
	"fmt"
	"math/big"
	"net/netip"
	"strings"
)

// A Family is an IP address family: IPv4 or IPv6. The zero Family is invalid.
type Family uint8

// Address families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// FamilyOf returns the family of a: IPv4 for a 4-byte address, IPv6 for a
// 16-byte one (IPv4-mapped IPv6 included), and the zero Family for the zero
// Addr.
func FamilyOf(a netip.Addr) Family {
	switch {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}

// String returns "IPv4", "IPv6" or "invalid Family".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "invalid Family"
}

// bitLen returns the address length of f in bits.
func (f Family) bitLen() int {
	if f == IPv4 {
		return 32
	}
	return 128
}

// A Range is an inclusive span [From, To] of IP addresses of one family,
// written either as a CIDR prefix or as a start–stop span. The spelling
// matters: only a range written as a prefix of more than two addresses
// loses its first and last address to reservation (Pool.AllowFirstLast,
// WithFirstLastReserved), so 10.0.0.0-10.0.0.255 is used whole while
// 10.0.0.0/24 is not. Range is a comparable value type (ranges of other
// spellings differ); the zero Range is invalid and contains nothing.
// Addresses in a valid Range carry no zone and are never IPv4-mapped IPv6
// addresses.
type Range struct {
	from, to netip.Addr
	prefix   bool // written as a CIDR prefix
}

// ParseRange parses s as a range. It accepts a CIDR prefix ("10.0.0.0/24",
// "2001:db8::/64"), a start–stop range ("10.0.0.5-10.0.0.9", spaces around
// the dash tolerated) or a single address ("10.0.0.7"). It rejects mixed
// families, from > to, zones, IPv4-mapped IPv6 addresses (unmap them first)
// and prefixes with host bits set. Errors wrap ErrInvalidRange and name s.
func ParseRange(s string) (Range, error) {
	r, reason := parseRange(strings.TrimSpace(s))
	if reason != "" {
		return Range{}, fmt.Errorf("%w %q: %s", ErrInvalidRange, s, reason)
	}
	return r, nil
}

// MustParseRange calls ParseRange(s) and panics on error. It is intended
// for tests and hard-coded values.
func MustParseRange(s string) Range {
	r, err := ParseRange(s)
	if err != nil {
		panic(err)
	}
	return r
}

// parseRange returns the range or the reason it is invalid.
func parseRange(s string) (Range, string) {
	if strings.Contains(s, "/") {
		return parsePrefix(s)
	}
	if fs, ts, ok := strings.Cut(s, "-"); ok {
		from, reason := parseAddr(strings.TrimSpace(fs))
		if reason != "" {
			return Range{}, reason
		}
		to, reason := parseAddr(strings.TrimSpace(ts))
		if reason != "" {
			return Range{}, reason
		}
		return rangeFrom(from, to)
	}
	a, reason := parseAddr(s)
	if reason != "" {
		return Range{}, reason
	}
	return Range{from: a, to: a}, ""
}

func parsePrefix(s string) (Range, string) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Range{}, err.Error()
	}
	if p.Addr().Is4In6() {
		return Range{}, "IPv4-mapped IPv6 prefix; use the IPv4 form"
	}
	if m := p.Masked(); m != p {
		return Range{}, fmt.Sprintf("host bits set (did you mean %s?)", m)
	}
	return PrefixRange(p), ""
}

func parseAddr(s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err.Error()
	}
	return a, checkAddr(a)
}

// checkAddr returns why a cannot be part of a Range, or "".
func checkAddr(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "invalid address"
	case a.Zone() != "":
		return fmt.Sprintf("address %s has a zone", a)
	case a.Is4In6():
		return fmt.Sprintf("address %s is IPv4-mapped IPv6; use %s", a, a.Unmap())
	}
	return ""
}

func rangeFrom(from, to netip.Addr) (Range, string) {
	if reason := checkAddr(from); reason != "" {
		return Range{}, reason
	}
	if reason := checkAddr(to); reason != "" {
		return Range{}, reason
	}
	if from.BitLen() != to.BitLen() {
		return Range{}, fmt.Sprintf("mixed families: %s and %s", from, to)
	}
	if to.Less(from) {
		return Range{}, fmt.Sprintf("start %s is after end %s", from, to)
	}
	return Range{from: from, to: to}, ""
}

// RangeFrom returns the start–stop range [from, to]. Both must be of the
// same family, without zone, not IPv4-mapped, and from <= to; errors wrap
// ErrInvalidRange (and ErrFamily for mixed families).
func RangeFrom(from, to netip.Addr) (Range, error) {
	r, reason := rangeFrom(from, to)
	if reason == "" {
		return r, nil
	}
	if from.IsValid() && to.IsValid() && from.BitLen() != to.BitLen() {
		return Range{}, errorf("%w %s-%s: %w: %s", ErrInvalidRange, from, to, ErrFamily, reason)
	}
	return Range{}, fmt.Errorf("%w %s-%s: %s", ErrInvalidRange, from, to, reason)
}

// PrefixRange returns the range of all addresses in p, written as a prefix.
// Host bits of p are ignored (p is masked). It returns the zero Range if p
// is invalid or its address is IPv4-mapped IPv6.
func PrefixRange(p netip.Prefix) Range {
	if !p.IsValid() || p.Addr().Is4In6() {
		return Range{}
	}
	p = p.Masked()
	f := FamilyOf(p.Addr())
	lo := u128From(p.Addr())
	return Range{from: p.Addr(), to: lo.add(hostMask(f, p.Bits())).addr(f), prefix: true}
}

// hostMask returns the mask of the host bits of a /bits prefix of family f.
func hostMask(f Family, bits int) uint128 {
	n := uint(f.bitLen() - bits) // number of host bits, 0..128
	switch {
	case n == 0:
		return u128Zero
	case n >= 128:
		return u128Max
	case n >= 64:
		return uint128{(1 << (n - 64)) - 1, ^uint64(0)}
	}
	return uint128{0, (1 << n) - 1}
}

// From returns the first address of r.
func (r Range) From() netip.Addr { return r.from }

// To returns the last address of r.
func (r Range) To() netip.Addr { return r.to }

// IsValid reports whether r is a valid (non-zero) range.
func (r Range) IsValid() bool { return r.from.IsValid() }

// Family returns the address family of r, or the zero Family if r is invalid.
func (r Range) Family() Family { return FamilyOf(r.from) }

// Contains reports whether a lies in r. Addresses with a zone, or of the
// other family, are never contained.
func (r Range) Contains(a netip.Addr) bool {
	return r.IsValid() && a.BitLen() == r.from.BitLen() && a.Zone() == "" &&
		!a.Less(r.from) && !r.to.Less(a)
}

// Overlaps reports whether r and o have at least one address in common.
func (r Range) Overlaps(o Range) bool {
	return r.IsValid() && o.IsValid() && r.from.BitLen() == o.from.BitLen() &&
		!r.to.Less(o.from) && !o.to.Less(r.from)
}

// Size returns the exact number of addresses in r (2^128 for ::/0), or zero
// for the zero Range.
func (r Range) Size() *big.Int {
	if !r.IsValid() {
		return new(big.Int)
	}
	return spanSize(u128From(r.from), u128From(r.to))
}

// Prefix returns the prefix r was written as and true, or false if r was
// written as a start–stop range or a single address (even one that spans
// exactly a prefix).
func (r Range) Prefix() (netip.Prefix, bool) {
	if !r.prefix {
		return netip.Prefix{}, false
	}
	n := u128From(r.to).sub(u128From(r.from)) // the host mask
	return netip.PrefixFrom(r.from, r.Family().bitLen()-n.onesCount()), true
}

// String returns r as written: the prefix form ("10.0.0.0/24") for a range
// written as a prefix, the address ("10.0.0.7") for a single address,
// "from-to" otherwise, and "invalid Range" for the zero Range.
// ParseRange(r.String()) == r for every valid r.
func (r Range) String() string {
	switch {
	case !r.IsValid():
		return "invalid Range"
	case r.prefix:
		p, _ := r.Prefix()
		return p.String()
	case r.from == r.to:
		return r.from.String()
	}
	return r.from.String() + "-" + r.to.String()
}

// MarshalText implements encoding.TextMarshaler using String; the zero Range
// marshals as an empty string.
func (r Range) MarshalText() ([]byte, error) {
	if !r.IsValid() {
		return []byte{}, nil
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using ParseRange; an
// empty text yields the zero Range.
func (r *Range) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*r = Range{}
		return nil
	}
	v, err := ParseRange(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// bounds returns the numeric first and last address of r.
func (r Range) bounds() (lo, hi uint128) { return u128From(r.from), u128From(r.to) }

// The IPv4-mapped IPv6 block ::ffff:0:0/96. Its addresses are never
// allocated: a range spanning it is used without it.
var (
	mappedLo = uint128{0, 0xffff_0000_0000}
	mappedHi = uint128{0, 0xffff_ffff_ffff}
)

// isMapped reports whether a is an IPv4-mapped IPv6 address.
func isMapped(a netip.Addr) bool { return a.Is4In6() }

// withoutMapped returns the IPv6 span [lo, hi] minus the IPv4-mapped block,
// as up to two intervals. For IPv4 values (hi < 2^32) it returns [lo, hi].
func withoutMapped(lo, hi uint128) []interval {
	if hi.less(mappedLo) || mappedHi.less(lo) {
		return []interval{{lo, hi}}
	}
	var out []interval
	if lo.less(mappedLo) {
		out = append(out, interval{lo, mappedLo.subOne()})
	}
	if mappedHi.less(hi) {
		out = append(out, interval{mappedHi.addOne(), hi})
	}
	return out
}
