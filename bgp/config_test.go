package bgp_test

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/selector"
)

func TestParseCommunity(t *testing.T) {
	tests := []struct {
		in   string
		want bgp.Community
		ok   bool
	}{
		{"65000:100", 65000<<16 | 100, true},
		{"0:0", 0, true},
		{"65535:65535", 0xFFFFFFFF, true},
		{"no-export", 0xFFFFFF01, true},
		{"NO-ADVERTISE", 0xFFFFFF02, true},
		{"blackhole", 0xFFFF029A, true},
		{"65536:1", 0, false},
		{"1:65536", 0, false},
		{"1", 0, false},
		{"1:2:3", 0, false},
		{"-1:2", 0, false},
		{"a:b", 0, false},
		{"", 0, false},
		{" 1:2", 0, false},
	}
	for _, tt := range tests {
		got, err := bgp.ParseCommunity(tt.in)
		if !tt.ok {
			assert.ErrorIs(t, err, bgp.ErrInvalidCommunity, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestParseLargeCommunity(t *testing.T) {
	c, err := bgp.ParseLargeCommunity("65000:1:1")
	require.NoError(t, err)
	assert.Equal(t, bgp.LargeCommunity{65000, 1, 1}, c)
	assert.Equal(t, "65000:1:1", c.String())
	c, err = bgp.ParseLargeCommunity("4294967295:0:4294967295")
	require.NoError(t, err)
	assert.Equal(t, bgp.LargeCommunity{1<<32 - 1, 0, 1<<32 - 1}, c)
	for _, bad := range []string{"", "1:2", "1:2:3:4", "4294967296:1:1", "a:b:c", "1::2"} {
		_, err := bgp.ParseLargeCommunity(bad)
		assert.ErrorIs(t, err, bgp.ErrInvalidCommunity, bad)
	}
}

func TestCommunityString(t *testing.T) {
	assert.Equal(t, "65000:100", bgp.CommunityFrom(65000, 100).String())
	assert.Equal(t, "no-export", bgp.NoExport.String())
	assert.Equal(t, "blackhole", bgp.MustParseCommunity("65535:666").String())
	assert.Equal(t, uint16(65000), bgp.CommunityFrom(65000, 100).ASN())
	assert.Equal(t, uint16(100), bgp.CommunityFrom(65000, 100).Value())
	assert.Panics(t, func() { bgp.MustParseCommunity("x") })
	assert.Panics(t, func() { bgp.MustParseLargeCommunity("1:2") })
	assert.Equal(t, bgp.LargeCommunity{1, 2, 3}, bgp.MustParseLargeCommunity("1:2:3"))

	// Text forms: JSON and flags carry communities as strings.
	var a bgp.Attributes
	require.NoError(t, json.Unmarshal([]byte(`{"Communities":["no-export","1:2"],"LargeCommunities":["1:2:3"]}`), &a))
	assert.Equal(t, []bgp.Community{bgp.NoExport, bgp.CommunityFrom(1, 2)}, a.Communities)
	assert.Equal(t, []bgp.LargeCommunity{{1, 2, 3}}, a.LargeCommunities)
	b, err := json.Marshal(a)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"Communities":["no-export","1:2"],"LargeCommunities":["1:2:3"]`)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"Communities":["1:65536"]}`), &a), bgp.ErrInvalidCommunity)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"LargeCommunities":["1:2"]}`), &a), bgp.ErrInvalidCommunity)
}

func TestAttrsFor(t *testing.T) {
	cfg := bgp.Config{Rules: []bgp.Rule{
		{Selector: selector.MustParse("a"), Attributes: bgp.Attributes{Communities: []bgp.Community{bgp.CommunityFrom(2, 2), bgp.CommunityFrom(1, 1)}, MED: u32(1)}},
		{Selector: selector.MustParse("b"), Attributes: bgp.Attributes{Communities: []bgp.Community{bgp.CommunityFrom(1, 1)}, LargeCommunities: []bgp.LargeCommunity{{3, 3, 3}, {1, 1, 1}}, LocalPref: u32(7), MED: u32(2)}},
		{Attributes: bgp.Attributes{LargeCommunities: []bgp.LargeCommunity{{1, 1, 1}}}}, // zero selector: every service
	}}
	cfg.ASN, cfg.RouterID = 1, lo4
	rules, err := cfg.Validate()
	require.NoError(t, err)

	got := bgp.AttrsFor(rules, selector.Set{"a": "", "b": ""})
	assert.Equal(t, []bgp.Community{1<<16 | 1, 2<<16 | 2}, got.Communities, "union, sorted, unique")
	assert.Equal(t, []bgp.LargeCommunity{{1, 1, 1}, {3, 3, 3}}, got.Large)
	assert.Equal(t, uint32(1), *got.MED, "first rule setting MED wins")
	assert.Equal(t, uint32(7), *got.LocalPref)

	none := bgp.AttrsFor(rules, selector.Set{})
	assert.Empty(t, none.Communities)
	assert.Equal(t, []bgp.LargeCommunity{{1, 1, 1}}, none.Large)
	assert.Nil(t, none.MED)
	assert.True(t, none.Equal(bgp.AttrsFor(rules, nil)))
	assert.False(t, none.Equal(got))
}

func FuzzParseCommunity(f *testing.F) {
	for _, s := range []string{"65000:100", "no-export", "65536:1", "1:2:3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := bgp.ParseCommunity(s)
		if err != nil {
			return
		}
		if bgp.IsWellKnown(strings.ToLower(s)) {
			return
		}
		// A parsed community prints back to an equivalent string.
		again, err := bgp.ParseCommunity(formatCommunity(v))
		if err != nil || again != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, formatCommunity(v), again, err)
		}
		if named, err := bgp.ParseCommunity(v.String()); err != nil || named != v {
			t.Fatalf("%q -> %v -> %v, %v", s, v, named, err)
		}
	})
}

func FuzzParseLargeCommunity(f *testing.F) {
	for _, s := range []string{"65000:1:1", "1:2", "4294967296:1:1", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := bgp.ParseLargeCommunity(s)
		if err != nil {
			return
		}
		again, err := bgp.ParseLargeCommunity(c.String())
		if err != nil || again != c {
			t.Fatalf("%q -> %v -> %v, %v", s, c, again, err)
		}
	})
}

// TestRulesCopied checks that New keeps its own copy of the rules: a
// caller reusing the LocalPref or MED variable must not change the
// attributes of routes behind the speaker's back.
func TestRulesCopied(t *testing.T) {
	lp, med := uint32(200), uint32(10)
	cfg := bgp.Config{ASN: 65001, RouterID: netip.MustParseAddr("10.0.0.1"),
		Rules: []bgp.Rule{{Attributes: bgp.Attributes{LocalPref: &lp, MED: &med}}}}
	rules, err := cfg.Validate()
	require.NoError(t, err)
	lp, med = 300, 20
	got := bgp.AttrsFor(rules, nil)
	require.NotNil(t, got.LocalPref)
	require.NotNil(t, got.MED)
	assert.Equal(t, uint32(200), *got.LocalPref)
	assert.Equal(t, uint32(10), *got.MED)
}

// formatCommunity is the inverse of ParseCommunity for numeric communities.
func formatCommunity(v bgp.Community) string {
	return strconv.Itoa(int(v>>16)) + ":" + strconv.Itoa(int(v&0xffff))
}
