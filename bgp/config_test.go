package bgp

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/selector"
)

func TestParseCommunity(t *testing.T) {
	tests := []struct {
		in   string
		want Community
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
		got, err := ParseCommunity(tt.in)
		if !tt.ok {
			assert.ErrorIs(t, err, ErrInvalidCommunity, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestParseLargeCommunity(t *testing.T) {
	c, err := ParseLargeCommunity("65000:1:1")
	require.NoError(t, err)
	assert.Equal(t, LargeCommunity{65000, 1, 1}, c)
	assert.Equal(t, "65000:1:1", c.String())
	c, err = ParseLargeCommunity("4294967295:0:4294967295")
	require.NoError(t, err)
	assert.Equal(t, LargeCommunity{1<<32 - 1, 0, 1<<32 - 1}, c)
	for _, bad := range []string{"", "1:2", "1:2:3:4", "4294967296:1:1", "a:b:c", "1::2"} {
		_, err := ParseLargeCommunity(bad)
		assert.ErrorIs(t, err, ErrInvalidCommunity, bad)
	}
}

func TestCommunityString(t *testing.T) {
	assert.Equal(t, "65000:100", CommunityFrom(65000, 100).String())
	assert.Equal(t, "no-export", NoExport.String())
	assert.Equal(t, "blackhole", MustParseCommunity("65535:666").String())
	assert.Equal(t, uint16(65000), CommunityFrom(65000, 100).ASN())
	assert.Equal(t, uint16(100), CommunityFrom(65000, 100).Value())
	assert.Panics(t, func() { MustParseCommunity("x") })
	assert.Panics(t, func() { MustParseLargeCommunity("1:2") })
	assert.Equal(t, LargeCommunity{1, 2, 3}, MustParseLargeCommunity("1:2:3"))

	// Text forms: JSON and flags carry communities as strings.
	var a Attributes
	require.NoError(t, json.Unmarshal([]byte(`{"Communities":["no-export","1:2"],"LargeCommunities":["1:2:3"]}`), &a))
	assert.Equal(t, []Community{NoExport, CommunityFrom(1, 2)}, a.Communities)
	assert.Equal(t, []LargeCommunity{{1, 2, 3}}, a.LargeCommunities)
	b, err := json.Marshal(a)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"Communities":["no-export","1:2"],"LargeCommunities":["1:2:3"]`)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"Communities":["1:65536"]}`), &a), ErrInvalidCommunity)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"LargeCommunities":["1:2"]}`), &a), ErrInvalidCommunity)
}

func TestAttrsFor(t *testing.T) {
	cfg := Config{Rules: []Rule{
		{Selector: selector.MustParse("a"), Attributes: Attributes{Communities: []Community{CommunityFrom(2, 2), CommunityFrom(1, 1)}, MED: u32(1)}},
		{Selector: selector.MustParse("b"), Attributes: Attributes{Communities: []Community{CommunityFrom(1, 1)}, LargeCommunities: []LargeCommunity{{3, 3, 3}, {1, 1, 1}}, LocalPref: u32(7), MED: u32(2)}},
		{Attributes: Attributes{LargeCommunities: []LargeCommunity{{1, 1, 1}}}}, // zero selector: every service
	}}
	cfg.ASN, cfg.RouterID = 1, lo4
	rules, err := cfg.validate()
	require.NoError(t, err)

	got := attrsFor(rules, selector.Set{"a": "", "b": ""})
	assert.Equal(t, []Community{1<<16 | 1, 2<<16 | 2}, got.communities, "union, sorted, unique")
	assert.Equal(t, []LargeCommunity{{1, 1, 1}, {3, 3, 3}}, got.large)
	assert.Equal(t, uint32(1), *got.med, "first rule setting MED wins")
	assert.Equal(t, uint32(7), *got.localPref)

	none := attrsFor(rules, selector.Set{})
	assert.Empty(t, none.communities)
	assert.Equal(t, []LargeCommunity{{1, 1, 1}}, none.large)
	assert.Nil(t, none.med)
	assert.True(t, none.equal(attrsFor(rules, nil)))
	assert.False(t, none.equal(got))
}

func FuzzParseCommunity(f *testing.F) {
	for _, s := range []string{"65000:100", "no-export", "65536:1", "1:2:3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseCommunity(s)
		if err != nil {
			return
		}
		if _, named := wellKnown[strings.ToLower(s)]; named {
			return
		}
		// A parsed community prints back to an equivalent string.
		again, err := ParseCommunity(formatCommunity(v))
		if err != nil || again != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, formatCommunity(v), again, err)
		}
		if named, err := ParseCommunity(v.String()); err != nil || named != v {
			t.Fatalf("%q -> %v -> %v, %v", s, v, named, err)
		}
	})
}

func FuzzParseLargeCommunity(f *testing.F) {
	for _, s := range []string{"65000:1:1", "1:2", "4294967296:1:1", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseLargeCommunity(s)
		if err != nil {
			return
		}
		again, err := ParseLargeCommunity(c.String())
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
	cfg := Config{ASN: 65001, RouterID: netip.MustParseAddr("10.0.0.1"),
		Rules: []Rule{{Attributes: Attributes{LocalPref: &lp, MED: &med}}}}
	rules, err := cfg.validate()
	require.NoError(t, err)
	lp, med = 300, 20
	got := attrsFor(rules, nil)
	require.NotNil(t, got.localPref)
	require.NotNil(t, got.med)
	assert.Equal(t, uint32(200), *got.localPref)
	assert.Equal(t, uint32(10), *got.med)
}

// formatCommunity is the inverse of ParseCommunity for numeric communities.
func formatCommunity(v Community) string {
	return strconv.Itoa(int(v>>16)) + ":" + strconv.Itoa(int(v&0xffff))
}
