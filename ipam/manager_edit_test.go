package ipam_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// editServices are the services of TestManagerPoolEdits, with the addresses
// they held before the controller restarted.
var editServices = []struct {
	req   ipam.Request
	addrs string
}{
	{ipam.Request{Key: "shop/web1", Labels: selector.Set{"tier": "web"}}, "10.0.0.5"},
	{ipam.Request{Key: "shop/web2", Labels: selector.Set{"tier": "web"}}, "10.0.0.20"},
	{ipam.Request{Key: "shop/api", Labels: selector.Set{"tier": "api"}}, "10.0.0.21"},
	{ipam.Request{Key: "shop/db", Labels: selector.Set{"tier": "db"}}, "10.1.0.7"},
	{ipam.Request{Key: "ops/batch"}, "10.1.0.8"},
	{ipam.Request{Key: "ops/legacy", Labels: selector.Set{"tier": "old"}}, "10.2.0.9"},
}

// ensure assigns every service and returns what changed: key → reason and
// addresses, for the services whose Reason is not Unchanged.
func ensure(t *testing.T, m *ipam.Manager) map[string]string {
	t.Helper()
	moved := map[string]string{}
	for _, s := range editServices {
		a, err := m.Assign(s.req)
		if err != nil {
			moved[s.req.Key] = fmt.Sprintf("%v %v: %v", a.Reason, a.Previous.Addrs, err)
			continue
		}
		if a.Reason != ipam.Unchanged {
			moved[s.req.Key] = fmt.Sprintf("%v: %v → %s %v", a.Reason, a.Previous.Addrs, a.Pool, a.Addrs)
		}
	}
	checkManager(t, m)
	return moved
}

// Pool edits after a restart move only the services they must, and the
// results say why.
func TestManagerPoolEdits(t *testing.T) {
	web := ipam.Pool{Name: "web", Priority: 1, Ranges: rangesOf("10.0.0.0/24"),
		ServiceSelector: selector.MustParse("tier in (web, api)")}
	general := ipam.Pool{Name: "general", Ranges: rangesOf("10.1.0.0/24")}
	old := ipam.Pool{Name: "old", Priority: 2, Disabled: true, Ranges: rangesOf("10.2.0.0/24"),
		ServiceSelector: selector.MustParse("tier=old")}
	m := ipam.NewManager()
	for _, p := range []ipam.Pool{web, general, old} {
		setPool(t, m, p)
	}
	var reqs []ipam.Request
	for _, s := range editServices {
		r := s.req
		r.Addrs = ips(s.addrs)
		reqs = append(reqs, r)
	}
	for i, err := range m.Restore(reqs) {
		require.NoError(t, err, reqs[i].Key)
	}
	require.Empty(t, ensure(t, m), "restored services stay")

	web.Ranges = rangesOf("10.0.0.0/24", "10.0.5.0/24")
	setPool(t, m, web)
	assert.Empty(t, ensure(t, m), "growing a pool moves nothing")

	web.Ranges = rangesOf("10.0.0.0/28", "10.0.5.0/24")
	setPool(t, m, web)
	assert.Equal(t, map[string]string{
		"shop/web2": "address left the pool: [10.0.0.20] → web [10.0.0.1]",
		"shop/api":  "address left the pool: [10.0.0.21] → web [10.0.0.2]",
	}, ensure(t, m), "shrinking moves the addresses outside, within the pool")

	general.Priority = 5
	setPool(t, m, general)
	assert.Empty(t, ensure(t, m), "priorities choose for new services only")

	web.ServiceSelector = selector.MustParse("tier=web")
	setPool(t, m, web)
	assert.Equal(t, map[string]string{
		"shop/api": "pool no longer selects the service: [10.0.0.2] → general [10.1.0.1]",
	}, ensure(t, m))

	general.Disabled = true
	setPool(t, m, general)
	assert.Empty(t, ensure(t, m), "a disabled pool keeps its services")
	_, err := m.Assign(ipam.Request{Key: "new/svc", Labels: selector.Set{"tier": "db"}})
	assert.ErrorIs(t, err, ipam.ErrNoPool, "and takes no new ones")
	general.Disabled = false
	setPool(t, m, general)
	assert.Empty(t, ensure(t, m))

	require.NoError(t, m.DeletePool("general"))
	renamed := general
	renamed.Name = "shared"
	setPool(t, m, renamed)
	assert.Equal(t, map[string]string{
		"shop/api":  "pool deleted: [10.1.0.1] → shared [10.1.0.1]",
		"shop/db":   "pool deleted: [10.1.0.7] → shared [10.1.0.7]",
		"ops/batch": "pool deleted: [10.1.0.8] → shared [10.1.0.8]",
	}, ensure(t, m), "a renamed pool keeps the addresses")

	require.NoError(t, m.DeletePool("old"))
	assert.Equal(t, map[string]string{
		"ops/legacy": "pool deleted: [10.2.0.9] → shared [10.1.0.2]",
	}, ensure(t, m), "a deleted pool's services move where they can")

	web.ServiceSelector = selector.MustParse("tier=none")
	setPool(t, m, web)
	renamed.ServiceSelector = selector.MustParse("tier!=web")
	setPool(t, m, renamed)
	assert.Equal(t, map[string]string{
		"shop/web1": `released [10.0.0.5]: ipam: service "shop/web1": no enabled pool selects the service: no pool (released [10.0.0.5]: pool no longer selects the service)`,
		"shop/web2": `released [10.0.0.1]: ipam: service "shop/web2": no enabled pool selects the service: no pool (released [10.0.0.1]: pool no longer selects the service)`,
	}, ensure(t, m), "services no pool can serve any more are released")
	_, ok := m.Assignment("shop/web1")
	assert.False(t, ok)
	assert.Equal(t, 0, poolStatus(t, m, "web").Services)
}
