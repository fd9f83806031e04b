package ipam_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// restoreFixture returns a manager with pools of every kind Restore meets.
func restoreFixture(t *testing.T) *ipam.Manager {
	m := ipam.NewManager()
	setPool(t, m, ipam.Pool{Name: "web", Ranges: rangesOf("10.0.0.0/24", "2001:db8::/64"),
		ServiceSelector: selector.MustParse("tier=web")})
	setPool(t, m, ipam.Pool{Name: "off", Disabled: true, Ranges: rangesOf("10.1.0.0/24")})
	setPool(t, m, ipam.Pool{Name: "manual", ManualOnly: true, Ranges: rangesOf("10.2.0.0/24")})
	setPool(t, m, ipam.Pool{Name: "shared", Ranges: rangesOf("10.3.0.0/24")})
	setPool(t, m, ipam.Pool{Name: "late", Ranges: rangesOf("10.0.0.128/25", "10.4.0.0/24")})
	require.NotEmpty(t, poolStatus(t, m, "late").Conflicts)
	return m
}

func web(key string, addrs ...string) ipam.Request {
	return ipam.Request{Key: key, Labels: selector.Set{"tier": "web"}, Addrs: ips(addrs...)}
}

func TestRestoreErrors(t *testing.T) {
	m := restoreFixture(t)
	errs := m.Restore([]ipam.Request{
		web("ns/ok", "10.0.0.5", "2001:db8::5"),
		{Key: "ns/off", Addrs: ips("10.1.0.9")},
		{Key: "ns/manual", Addrs: ips("10.2.0.9")},
		{Key: "ns/shared-a", Addrs: ips("10.3.0.1"), SharingKey: "k", Ports: []ipam.Port{tcp(80)}},
		{Key: "ns/shared-b", Addrs: ips("10.3.0.1"), SharingKey: "k", Ports: []ipam.Port{tcp(443)}},
		{Key: "ns/shared-c", Addrs: ips("10.3.0.1"), SharingKey: "k", Ports: []ipam.Port{tcp(80)}},
		{Key: "ns/taken", Addrs: ips("10.1.0.9")},
		{Key: "ns/none"},
		{Key: "ns/nowhere", Addrs: ips("192.0.2.1")},
		{Key: "ns/conflicting", Addrs: ips("10.0.0.200"), Pool: "late"},
		{Key: "ns/not-selected", Addrs: ips("10.0.0.6")},
		withPool(web("ns/other-pool", "10.0.0.7"), "manual"),
		web("ns/reserved", "10.0.0.255"),
		web("ns/half", "10.0.0.8", "2001:db8::5"),
		web("ns/ok", "10.0.0.9"),
		{Key: "ns/bad", Addrs: ips("10.0.0.1", "10.0.0.2")},
	})
	want := []error{nil, nil, nil, nil, nil, ipam.ErrSharing, ipam.ErrInUse, ipam.ErrInvalidRequest,
		ipam.ErrOutOfRange, ipam.ErrOutOfRange, ipam.ErrNoPool, ipam.ErrOutOfRange, ipam.ErrOutOfRange, ipam.ErrInUse,
		ipam.ErrInUse, ipam.ErrInvalidRequest}
	require.Len(t, errs, len(want))
	for i, err := range errs {
		if want[i] == nil {
			assert.NoError(t, err, "request %d", i)
			continue
		}
		assert.ErrorIs(t, err, want[i], "request %d", i)
	}
	assert.ErrorIs(t, errs[5], ipam.ErrInUse, "a sharing refusal is also ErrInUse")
	assert.Equal(t, 1, countPrefix(errs[13].Error()), "%v", errs[13])

	held := map[string]string{}
	for _, a := range m.Assignments() {
		held[a.Key] = fmt.Sprintf("%s %v", a.Pool, a.Addrs)
	}
	assert.Equal(t, map[string]string{
		"ns/ok":       "web [10.0.0.5 2001:db8::5]",
		"ns/off":      "off [10.1.0.9]",
		"ns/manual":   "manual [10.2.0.9]",
		"ns/shared-a": "shared [10.3.0.1]",
		"ns/shared-b": "shared [10.3.0.1]",
	}, held, "failed requests hold nothing")
	assert.Equal(t, "1", poolStatus(t, m, "web").Used(ipam.IPv4).String(), "ns/half's IPv4 address was not kept")
	checkManager(t, m)
}

func withPool(r ipam.Request, p string) ipam.Request { r.Pool = p; return r }

func countPrefix(s string) int { return strings.Count(s, "ipam:") }

// The result of Restore does not depend on the order of the requests, even
// when they compete for addresses.
func TestRestoreOrderIndependent(t *testing.T) {
	var reqs []ipam.Request
	for i := range 60 {
		r := ipam.Request{Key: fmt.Sprintf("ns%d/s%d", i%2, i), Addrs: ips(fmt.Sprintf("10.3.0.%d", i%7+1)),
			Ports: []ipam.Port{tcp(uint16(80 + i%4))}}
		if i%3 != 0 {
			r.SharingKey = fmt.Sprintf("k%d", i%2)
		}
		reqs = append(reqs, r)
	}
	var first string
	for seed := range uint64(8) {
		m := restoreFixture(t)
		shuffled := slices.Clone(reqs)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(shuffled), reflect.Swapper(shuffled))
		errs := m.Restore(shuffled)
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		require.Greater(t, ok, 7, "some restored")
		require.Less(t, ok, len(reqs), "some refused")
		got := fmt.Sprint(m.Assignments())
		if seed == 0 {
			first = got
			continue
		}
		require.Equal(t, first, got, "seed %d", seed)
		checkManager(t, m)
	}
}

// After a restore, a disabled pool makes no new assignments, and a
// ManualOnly pool serves only requests naming it or its addresses.
func TestRestoreThenAssign(t *testing.T) {
	m := restoreFixture(t)
	for _, err := range m.Restore([]ipam.Request{
		{Key: "ns/off", Addrs: ips("10.1.0.9")}, {Key: "ns/manual", Addrs: ips("10.2.0.9")},
	}) {
		require.NoError(t, err)
	}
	a := assign(t, m, ipam.Request{Key: "ns/off"})
	assert.Equal(t, ipam.Unchanged, a.Reason, "a restored service stays in its disabled pool")
	_, err := m.Assign(ipam.Request{Key: "ns/new", Addrs: ips("10.1.0.10")})
	assert.ErrorIs(t, err, ipam.ErrDisabled)
	_, err = m.Assign(ipam.Request{Key: "ns/new", Pool: "off"})
	assert.ErrorIs(t, err, ipam.ErrDisabled)
	a = assign(t, m, ipam.Request{Key: "ns/new"})
	assert.NotContains(t, []string{"off", "manual"}, a.Pool, "automatic choice skips disabled and ManualOnly pools")
	a = assign(t, m, ipam.Request{Key: "ns/by-addr", Addrs: ips("10.2.0.10")})
	assert.Equal(t, "manual", a.Pool)
	a = assign(t, m, ipam.Request{Key: "ns/by-name", Pool: "manual"})
	assert.Equal(t, "manual", a.Pool)
	// Restoring again what is held changes nothing.
	require.NoError(t, m.Restore([]ipam.Request{{Key: "ns/off", Addrs: ips("10.1.0.9")}})[0])
	checkManager(t, m)
}
