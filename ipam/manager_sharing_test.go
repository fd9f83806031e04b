package ipam_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/ipam"
)

func tcp(n uint16) ipam.Port  { return ipam.Port{Protocol: ipam.TCP, Port: n} }
func udp(n uint16) ipam.Port  { return ipam.Port{Protocol: ipam.UDP, Port: n} }
func sctp(n uint16) ipam.Port { return ipam.Port{Protocol: ipam.SCTP, Port: n} }

func TestManagerSharing(t *testing.T) {
	type svc struct {
		key, sharingKey string
		ports           []ipam.Port
	}
	tests := []struct {
		name       string
		crossNS    bool
		first, sec svc
		share      bool
		why        string // in the error for a specific request
	}{
		{"same key, compatible ports", false,
			svc{"ns/a", "k", []ipam.Port{tcp(80)}}, svc{"ns/b", "k", []ipam.Port{tcp(443)}}, true, ""},
		{"same key, same number other protocol", false,
			svc{"ns/a", "k", []ipam.Port{tcp(53)}}, svc{"ns/b", "k", []ipam.Port{udp(53), sctp(53)}}, true, ""},
		{"same key, colliding ports", false,
			svc{"ns/a", "k", []ipam.Port{tcp(80), udp(53)}}, svc{"ns/b", "k", []ipam.Port{udp(53)}}, false, "UDP/53 collides"},
		{"different keys", false,
			svc{"ns/a", "k", []ipam.Port{tcp(80)}}, svc{"ns/b", "j", []ipam.Port{tcp(443)}}, false, `sharing key "k"`},
		{"no key", false,
			svc{"ns/a", "", []ipam.Port{tcp(80)}}, svc{"ns/b", "", []ipam.Port{tcp(443)}}, false, "does not share"},
		{"cross-namespace, not allowed", false,
			svc{"ns/a", "k", []ipam.Port{tcp(80)}}, svc{"other/b", "k", []ipam.Port{tcp(443)}}, false, "another namespace"},
		{"cross-namespace, allowed", true,
			svc{"ns/a", "k", []ipam.Port{tcp(80)}}, svc{"other/b", "k", []ipam.Port{tcp(443)}}, true, ""},
		{"cross-namespace, allowed, colliding", true,
			svc{"ns/a", "k", []ipam.Port{tcp(80)}}, svc{"other/b", "k", []ipam.Port{tcp(80)}}, false, "TCP/80 collides"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ipam.NewManager()
			setPool(t, m, ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/24", "2001:db8::/64"),
				AllowCrossNamespaceSharing: tt.crossNS})
			req := func(s svc) ipam.Request {
				return ipam.Request{Key: s.key, SharingKey: s.sharingKey, Ports: s.ports}
			}
			first := assign(t, m, req(tt.first))
			second := assign(t, m, req(tt.sec))
			if tt.share {
				assert.Equal(t, first.Addrs, second.Addrs)
			} else {
				assert.Equal(t, ips("10.0.0.2", "2001:db8::2"), second.Addrs)
			}
			checkManager(t, m)

			// Asking for the first service's addresses explicitly.
			require.NoError(t, m.Release(tt.sec.key))
			r := req(tt.sec)
			r.Addrs = first.Addrs
			a, err := m.Assign(r)
			if tt.share {
				require.NoError(t, err)
				assert.Equal(t, first.Addrs, a.Addrs)
				// Releasing one sharer keeps the address for the other.
				require.NoError(t, m.Release(tt.first.key))
				assert.Equal(t, "1", poolStatus(t, m, "p").Used(ipam.IPv4).String())
				a = assign(t, m, ipam.Request{Key: "ns/new"})
				assert.NotEqual(t, first.Addrs, a.Addrs)
				require.NoError(t, m.Release(tt.sec.key))
				assert.Equal(t, "1", poolStatus(t, m, "p").Used(ipam.IPv4).String())
			} else {
				require.ErrorIs(t, err, ipam.ErrInUse)
				assert.Contains(t, err.Error(), tt.why)
				assert.Contains(t, err.Error(), tt.first.key)
				if tt.sec.sharingKey != "" {
					require.ErrorIs(t, err, ipam.ErrSharing)
				}
			}
			checkManager(t, m)
		})
	}
}

func TestManagerSharingChanges(t *testing.T) {
	m := ipam.NewManager()
	p := ipam.Pool{Name: "p", Ranges: rangesOf("10.0.0.0/24"), AllowCrossNamespaceSharing: true}
	setPool(t, m, p)
	a := assign(t, m, ipam.Request{Key: "ns/a", SharingKey: "k", Ports: []ipam.Port{tcp(80)}})
	b := assign(t, m, ipam.Request{Key: "ns/b", SharingKey: "k", Ports: []ipam.Port{tcp(81)}})
	c := assign(t, m, ipam.Request{Key: "other/c", SharingKey: "k", Ports: []ipam.Port{tcp(82)}})
	require.Equal(t, a.Addrs, b.Addrs)
	require.Equal(t, a.Addrs, c.Addrs)

	// Compatible port change: unchanged.
	b = assign(t, m, ipam.Request{Key: "ns/b", SharingKey: "k", Ports: []ipam.Port{tcp(83)}})
	assert.Equal(t, ipam.Unchanged, b.Reason)
	// Colliding port change: moves, with the reason.
	b = assign(t, m, ipam.Request{Key: "ns/b", SharingKey: "k", Ports: []ipam.Port{tcp(80)}})
	assert.Equal(t, ipam.SharingChanged, b.Reason)
	assert.NotEqual(t, a.Addrs, b.Addrs)
	// The port that collided is now free on the first address.
	d := assign(t, m, ipam.Request{Key: "ns/d", SharingKey: "k", Ports: []ipam.Port{tcp(83)}})
	assert.Equal(t, a.Addrs, d.Addrs)

	// The pool stops allowing cross-namespace sharing: c moves at its
	// next Assign.
	p.AllowCrossNamespaceSharing = false
	setPool(t, m, p)
	c = assign(t, m, ipam.Request{Key: "other/c", SharingKey: "k", Ports: []ipam.Port{tcp(82)}})
	assert.Equal(t, ipam.SharingChanged, c.Reason)
	assert.NotEqual(t, a.Addrs, c.Addrs)

	// A sole holder may change its sharing key without moving; others then
	// join it under the new key.
	e := assign(t, m, ipam.Request{Key: "ns/e"})
	e2 := assign(t, m, ipam.Request{Key: "ns/e", SharingKey: "new"})
	assert.Equal(t, ipam.Unchanged, e2.Reason)
	assert.Equal(t, e.Addrs, e2.Addrs)
	f := assign(t, m, ipam.Request{Key: "ns/f", SharingKey: "new"})
	assert.Equal(t, e.Addrs, f.Addrs)
	checkManager(t, m)
}
