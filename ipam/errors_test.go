package ipam_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// TestErrorsPrefixOnce checks that errors of every kind, nested ones
// included, print the package prefix exactly once, at the start.
func TestErrorsPrefixOnce(t *testing.T) {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	_, err := ipam.ParseRange("10.0.0.1/24")
	add(err)
	_, err = ipam.RangeFrom(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::1"))
	add(err)
	_, err = ipam.NewAllocator(rangesOf("10.0.0.0/24"), ipam.WithStrategy(9))
	add(err)
	_, err = ipam.NewAllocator(rangesOf("10.0.0.0/24", "10.0.0.0/25"))
	add(err)
	a, _ := ipam.NewAllocator(rangesOf("10.0.0.0/30"))
	add(a.Release(netip.MustParseAddr("192.0.2.1")))
	add(a.AllocateAddr(netip.MustParseAddr("192.0.2.1")))

	m := ipam.NewManager()
	add(m.SetPool(ipam.Pool{Name: "bad", Ranges: rangesOf("10.0.0.0/24", "10.0.0.0/25")}))
	add(m.DeletePool("nope"))
	add(m.Release("nope/x"))
	setPool(t, m, ipam.Pool{Name: "a", Ranges: rangesOf("10.0.0.1-10.0.0.1")})
	setPool(t, m, ipam.Pool{Name: "b", Ranges: rangesOf("10.0.1.1-10.0.1.1")})
	setPool(t, m, ipam.Pool{Name: "off", Disabled: true, Ranges: rangesOf("10.0.2.0/24")})
	for _, r := range []ipam.Request{
		{},
		{Key: "ns/v4", Families: ipam.SingleStackIPv6, Addrs: ips("10.0.0.1")},
		{Key: "ns/one"},
		{Key: "ns/two"},
		{Key: "ns/three"},
		{Key: "ns/named", Pool: "off"},
		{Key: "ns/taken", Addrs: ips("10.0.0.1"), SharingKey: "k"},
		{Key: "ns/out", Addrs: ips("192.0.2.1")},
		{Key: "ns/sel", Labels: selector.Set{"x": "y"}, Pool: "nope"},
	} {
		_, err := m.Assign(r)
		add(err)
	}
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		msg := err.Error()
		assert.True(t, strings.HasPrefix(msg, "ipam: "), "%s", msg)
		assert.Equal(t, 1, strings.Count(msg, "ipam:"), "%s", msg)
		assert.NotNil(t, errors.Unwrap(err), "%s wraps a sentinel", msg)
	}
	assert.GreaterOrEqual(t, n, 14)
}
