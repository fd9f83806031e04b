package ipam

import (
	"encoding/json"
	"errors"
	"math/big"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		in, from, to, str string
		size              string
	}{
		{"10.0.0.0/24", "10.0.0.0", "10.0.0.255", "10.0.0.0/24", "256"},
		{"2001:db8::/64", "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8::/64", "18446744073709551616"},
		{"10.0.0.5-10.0.0.9", "10.0.0.5", "10.0.0.9", "10.0.0.5-10.0.0.9", "5"},
		{"10.0.0.5 - 10.0.0.9", "10.0.0.5", "10.0.0.9", "10.0.0.5-10.0.0.9", "5"},
		{" 10.0.0.5  -10.0.0.9 ", "10.0.0.5", "10.0.0.9", "10.0.0.5-10.0.0.9", "5"},
		{"2001:db8::1-2001:db8::ff", "2001:db8::1", "2001:db8::ff", "2001:db8::1-2001:db8::ff", "255"},
		{"10.0.0.7", "10.0.0.7", "10.0.0.7", "10.0.0.7", "1"},
		{"10.0.0.7-10.0.0.7", "10.0.0.7", "10.0.0.7", "10.0.0.7", "1"},
		{"10.0.0.7/32", "10.0.0.7", "10.0.0.7", "10.0.0.7/32", "1"},
		{"2001:db8::7", "2001:db8::7", "2001:db8::7", "2001:db8::7", "1"},
		{"10.0.0.0-10.0.0.255", "10.0.0.0", "10.0.0.255", "10.0.0.0-10.0.0.255", "256"},
		{"10.0.0.0-10.0.1.255", "10.0.0.0", "10.0.1.255", "10.0.0.0-10.0.1.255", "512"},
		{"10.0.1.0-10.0.2.255", "10.0.1.0", "10.0.2.255", "10.0.1.0-10.0.2.255", "512"},
		{"0.0.0.0/0", "0.0.0.0", "255.255.255.255", "0.0.0.0/0", "4294967296"},
		{"0.0.0.0-0.0.0.3", "0.0.0.0", "0.0.0.3", "0.0.0.0-0.0.0.3", "4"},
		{"255.255.255.254-255.255.255.255", "255.255.255.254", "255.255.255.255", "255.255.255.254-255.255.255.255", "2"},
		{"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0", "340282366920938463463374607431768211456"},
		{"::-::1", "::", "::1", "::-::1", "2"},
		{"::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
			"::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "340282366920938463463374607431768211455"},
		{"172.18.255.200/29", "172.18.255.200", "172.18.255.207", "172.18.255.200/29", "8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRange(tt.in)
			require.NoError(t, err)
			assert.Equal(t, netip.MustParseAddr(tt.from), r.From())
			assert.Equal(t, netip.MustParseAddr(tt.to), r.To())
			assert.Equal(t, tt.str, r.String())
			want, _ := new(big.Int).SetString(tt.size, 10)
			assert.Equal(t, 0, want.Cmp(r.Size()), "size %s", r.Size())
			back, err := ParseRange(r.String())
			require.NoError(t, err)
			assert.Equal(t, r, back)
		})
	}
}

func TestParseRangeErrors(t *testing.T) {
	tests := []struct {
		in, msg string
		family  bool
	}{
		{"", "", false},
		{"garbage", "garbage", false},
		{"10.0.0.1/24", "host bits set (did you mean 10.0.0.0/24?)", false},
		{"2001:db8::1/64", "did you mean 2001:db8::/64?", false},
		{"10.0.0.0/33", "10.0.0.0/33", false},
		{"10.0.0.9-10.0.0.5", "start 10.0.0.9 is after end 10.0.0.5", false},
		{"10.0.0.1-2001:db8::1", "mixed families", true},
		{"fe80::1%eth0", "has a zone", false},
		{"fe80::1%eth0-fe80::2", "has a zone", false},
		{"fe80::1%eth0/64", "fe80::1%eth0/64", false},
		{"::ffff:1.2.3.4", "IPv4-mapped IPv6; use 1.2.3.4", false},
		{"::ffff:1.2.3.0/120", "IPv4-mapped", false},
		{"::ffff:1.2.3.4-::ffff:1.2.3.9", "IPv4-mapped", false},
		{"10.0.0.1-", "10.0.0.1-", false},
		{"-10.0.0.1", "-10.0.0.1", false},
		{"10.0.0.1-10.0.0.2-10.0.0.3", "10.0.0.1-10.0.0.2-10.0.0.3", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRange(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidRange)
			assert.Contains(t, err.Error(), tt.in, "error names the input")
			assert.Contains(t, err.Error(), tt.msg)
			assert.Equal(t, Range{}, r)
			assert.Panics(t, func() { MustParseRange(tt.in) })
		})
	}
}

func TestRangeFrom(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.9")
	r, err := RangeFrom(a, b)
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1-10.0.0.9", r.String())

	_, err = RangeFrom(b, a)
	assert.ErrorIs(t, err, ErrInvalidRange)
	_, err = RangeFrom(a, netip.MustParseAddr("2001:db8::1"))
	assert.ErrorIs(t, err, ErrInvalidRange)
	assert.ErrorIs(t, err, ErrFamily)
	_, err = RangeFrom(netip.Addr{}, a)
	assert.ErrorIs(t, err, ErrInvalidRange)
	_, err = RangeFrom(netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("::ffff:10.0.0.2"))
	assert.ErrorIs(t, err, ErrInvalidRange)
	_, err = RangeFrom(netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::2"))
	assert.ErrorIs(t, err, ErrInvalidRange)
}

func TestPrefixRange(t *testing.T) {
	assert.Equal(t, MustParseRange("10.0.0.0/24"), PrefixRange(netip.MustParsePrefix("10.0.0.7/24")), "masked")
	assert.Equal(t, MustParseRange("::/0"), PrefixRange(netip.MustParsePrefix("::/0")))
	assert.Equal(t, MustParseRange("2001:db8::/65"), PrefixRange(netip.MustParsePrefix("2001:db8::/65")))
	assert.Equal(t, MustParseRange("1.2.3.4/32"), PrefixRange(netip.MustParsePrefix("1.2.3.4/32")))
	assert.NotEqual(t, MustParseRange("1.2.3.4"), PrefixRange(netip.MustParsePrefix("1.2.3.4/32")), "spelling differs")
	assert.NotEqual(t, MustParseRange("10.0.0.0-10.0.0.255"), MustParseRange("10.0.0.0/24"))
	assert.False(t, PrefixRange(netip.Prefix{}).IsValid())
	assert.False(t, PrefixRange(netip.MustParsePrefix("::ffff:1.2.3.0/120")).IsValid())
}

func TestRangeContainsOverlaps(t *testing.T) {
	r := MustParseRange("10.0.0.5-10.0.0.9")
	for s, want := range map[string]bool{
		"10.0.0.4": false, "10.0.0.5": true, "10.0.0.7": true, "10.0.0.9": true, "10.0.0.10": false,
		"::ffff:10.0.0.7": false, "2001:db8::": false,
	} {
		assert.Equal(t, want, r.Contains(netip.MustParseAddr(s)), s)
	}
	assert.False(t, r.Contains(netip.Addr{}))
	assert.False(t, Range{}.Contains(netip.MustParseAddr("10.0.0.5")))
	assert.False(t, MustParseRange("fe80::/64").Contains(netip.MustParseAddr("fe80::1%eth0")))
	assert.True(t, MustParseRange("::/0").Contains(netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))

	for s, want := range map[string]bool{
		"10.0.0.0-10.0.0.4": false, "10.0.0.0-10.0.0.5": true, "10.0.0.6": true, "10.0.0.9-10.0.0.20": true,
		"10.0.0.10/31": false, "10.0.0.0/8": true, "::/0": false,
	} {
		o := MustParseRange(s)
		assert.Equal(t, want, r.Overlaps(o), s)
		assert.Equal(t, want, o.Overlaps(r), s)
	}
	assert.False(t, r.Overlaps(Range{}))
}

func TestRangeZero(t *testing.T) {
	var r Range
	assert.False(t, r.IsValid())
	assert.Equal(t, "invalid Range", r.String())
	assert.Equal(t, int64(0), r.Size().Int64())
	assert.Equal(t, Family(0), r.Family())
	_, ok := r.Prefix()
	assert.False(t, ok)
}

func TestRangePrefix(t *testing.T) {
	for s, want := range map[string]string{
		"10.0.0.0/24": "10.0.0.0/24", "10.0.0.0-10.0.0.1": "", "10.0.0.1-10.0.0.2": "",
		"10.0.0.0-10.0.0.255": "", "::/0": "::/0", "10.0.0.3": "", "10.0.0.3/32": "10.0.0.3/32",
	} {
		p, ok := MustParseRange(s).Prefix()
		assert.Equal(t, want != "", ok, s)
		if ok {
			assert.Equal(t, want, p.String(), s)
		}
	}
}

func TestRangeText(t *testing.T) {
	type cfg struct{ Ranges []Range }
	var c cfg
	require.NoError(t, json.Unmarshal([]byte(`{"Ranges":["10.0.0.0/24","10.1.0.1 - 10.1.0.9",""]}`), &c))
	assert.Equal(t, []Range{MustParseRange("10.0.0.0/24"), MustParseRange("10.1.0.1-10.1.0.9"), {}}, c.Ranges)
	out, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Ranges":["10.0.0.0/24","10.1.0.1-10.1.0.9",""]}`, string(out))
	err = json.Unmarshal([]byte(`{"Ranges":["10.0.0.1/24"]}`), &c)
	assert.True(t, errors.Is(err, ErrInvalidRange), "%v", err)
}

func TestFamily(t *testing.T) {
	assert.Equal(t, IPv4, FamilyOf(netip.MustParseAddr("10.0.0.1")))
	assert.Equal(t, IPv6, FamilyOf(netip.MustParseAddr("2001:db8::1")))
	assert.Equal(t, IPv6, FamilyOf(netip.MustParseAddr("::ffff:10.0.0.1")))
	assert.Equal(t, Family(0), FamilyOf(netip.Addr{}))
	assert.Equal(t, "IPv4", IPv4.String())
	assert.Equal(t, "IPv6", IPv6.String())
	assert.Equal(t, "invalid Family", Family(0).String())
}

func TestRangeAllocs(t *testing.T) {
	r := MustParseRange("10.0.0.0/24")
	a := netip.MustParseAddr("10.0.0.7")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = r.Contains(a) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = r.Overlaps(r) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = r.Prefix() }))
}
