package bgp

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// A Community is an RFC 1997 community: an AS number in the high 16 bits
// and a value in the low 16 bits.
type Community uint32

// The well-known communities that ParseCommunity and String name.
const (
	NoExport          Community = 0xFFFFFF01
	NoAdvertise       Community = 0xFFFFFF02
	NoExportSubconfed Community = 0xFFFFFF03
	Blackhole         Community = 0xFFFF029A // RFC 7999
)

var wellKnown = map[string]Community{
	"no-export":           NoExport,
	"no-advertise":        NoAdvertise,
	"no-export-subconfed": NoExportSubconfed,
	"blackhole":           Blackhole,
}

// CommunityFrom returns the community asn:value.
func CommunityFrom(asn, value uint16) Community { return Community(asn)<<16 | Community(value) }

// ParseCommunity parses "65000:100" (two 16-bit numbers) or a well-known
// name: "no-export", "no-advertise", "no-export-subconfed", "blackhole"
// (in any case). It returns ErrInvalidCommunity for anything else.
func ParseCommunity(s string) (Community, error) {
	if v, ok := wellKnown[strings.ToLower(s)]; ok {
		return v, nil
	}
	hi, lo, ok := strings.Cut(s, ":")
	a, err1 := strconv.ParseUint(hi, 10, 16)
	b, err2 := strconv.ParseUint(lo, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w %q: want ASN:value with two 16-bit numbers", ErrInvalidCommunity, s)
	}
	return CommunityFrom(uint16(a), uint16(b)), nil
}

// MustParseCommunity is ParseCommunity for constants; it panics on error.
func MustParseCommunity(s string) Community {
	c, err := ParseCommunity(s)
	if err != nil {
		panic(err)
	}
	return c
}

// ASN returns the high 16 bits, Value the low 16 bits.
func (c Community) ASN() uint16   { return uint16(c >> 16) }
func (c Community) Value() uint16 { return uint16(c) }

// String returns the well-known name of c, or "ASN:value".
func (c Community) String() string {
	for name, v := range wellKnown {
		if v == c {
			return name
		}
	}
	return strconv.Itoa(int(c.ASN())) + ":" + strconv.Itoa(int(c.Value()))
}

// MarshalText implements encoding.TextMarshaler with String's form.
func (c Community) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseCommunity.
func (c *Community) UnmarshalText(b []byte) error {
	v, err := ParseCommunity(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// A LargeCommunity is an RFC 8092 community: three 32-bit numbers.
type LargeCommunity struct{ ASN, Local1, Local2 uint32 }

// String returns "ASN:Local1:Local2".
func (c LargeCommunity) String() string {
	return fmt.Sprintf("%d:%d:%d", c.ASN, c.Local1, c.Local2)
}

// ParseLargeCommunity parses "65000:1:1"; it returns ErrInvalidCommunity
// for anything but three 32-bit numbers.
func ParseLargeCommunity(s string) (LargeCommunity, error) {
	parts := strings.Split(s, ":")
	var v [3]uint32
	if len(parts) != 3 {
		return LargeCommunity{}, fmt.Errorf("%w %q: want ASN:value:value", ErrInvalidCommunity, s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return LargeCommunity{}, fmt.Errorf("%w %q: want three 32-bit numbers", ErrInvalidCommunity, s)
		}
		v[i] = uint32(n)
	}
	return LargeCommunity{v[0], v[1], v[2]}, nil
}

// MustParseLargeCommunity is ParseLargeCommunity for constants; it panics
// on error.
func MustParseLargeCommunity(s string) LargeCommunity {
	c, err := ParseLargeCommunity(s)
	if err != nil {
		panic(err)
	}
	return c
}

// MarshalText implements encoding.TextMarshaler with String's form.
func (c LargeCommunity) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with
// ParseLargeCommunity.
func (c *LargeCommunity) UnmarshalText(b []byte) error {
	v, err := ParseLargeCommunity(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Compare returns -1, 0 or 1 as c sorts before, equal to or after d.
func (c LargeCommunity) Compare(d LargeCommunity) int {
	return cmp.Or(cmp.Compare(c.ASN, d.ASN), cmp.Compare(c.Local1, d.Local1), cmp.Compare(c.Local2, d.Local2))
}
