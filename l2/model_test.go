package l2

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/stretchr/testify/require"
)

// setElector leads the keys in its set. It signals changes MetalLB-style,
// on one buffered channel, which the announcer must handle as well as the
// close-and-replace channels of Rendezvous.
type setElector struct {
	mu   sync.Mutex
	lead map[string]bool
	ch   chan struct{}
}

func (e *setElector) Leads(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lead[key]
}

func (e *setElector) Changes() <-chan struct{} { return e.ch }

func (e *setElector) set(key string, lead bool) {
	e.mu.Lock()
	e.lead[key] = lead
	e.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
	default:
	}
}

// TestReferenceModel applies random announces, withdrawals and election
// changes and compares the answered set with a model after each step.
func TestReferenceModel(t *testing.T) {
	e := &setElector{lead: map[string]bool{}, ch: make(chan struct{}, 1)}
	a, _ := newTestAnnouncer(t, Config{Elector: e})
	require.NoError(t, a.Withdraw(context.Background(), "sentinel/svc"))
	pool := []netip.Addr{svcV4, svcV6, netip.MustParseAddr("172.18.255.202"), netip.MustParseAddr("2001:db8:dead:beef::112")}
	keys := []string{"a/1", "a/2", "b/1"}
	services := map[string][]netip.Addr{}
	lead := map[string]bool{}
	model := func() []netip.Addr {
		owners := map[netip.Addr][]string{}
		for k, addrs := range services {
			for _, ad := range addrs {
				owners[ad] = append(owners[ad], k)
			}
		}
		var out []netip.Addr
		for ad, ks := range owners {
			if lead[slices.Min(ks)] {
				out = append(out, ad)
			}
		}
		slices.SortFunc(out, netip.Addr.Compare)
		return out
	}
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 300 {
		key := keys[r.IntN(len(keys))]
		var op string
		switch r.IntN(3) {
		case 0:
			var addrs []netip.Addr
			for _, ad := range pool {
				if r.IntN(2) == 0 {
					addrs = append(addrs, ad)
				}
			}
			op = fmt.Sprintf("announce %s %v", key, addrs)
			require.NoError(t, a.Announce(context.Background(), announce.Service{Key: key, Addrs: addrs}))
			if len(addrs) == 0 {
				delete(services, key)
			} else {
				services[key] = addrs
			}
		case 1:
			op = "withdraw " + key
			require.NoError(t, a.Withdraw(context.Background(), key))
			delete(services, key)
		case 2:
			lead[key] = !lead[key]
			op = fmt.Sprintf("lead %s %v", key, lead[key])
			e.set(key, lead[key])
		}
		want := model()
		require.Eventually(t, func() bool { return slices.Equal(want, a.Answering()) }, waitFor, 100*time.Microsecond,
			"step %d: %s: answering %v, model %v", step, op, a.Answering(), want)
	}
}

// TestConcurrentUse drives every entry point at once, for the race
// detector, then checks that Close leaves nothing running.
func TestConcurrentUse(t *testing.T) {
	r := NewRendezvous("me", "me", "other")
	a, c := newTestAnnouncer(t, Config{Elector: r, Gratuitous: Gratuitous{Count: 2, Interval: time.Millisecond}})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("ns/svc-%d", i%7)
				switch (g + i) % 4 {
				case 0:
					_ = a.Announce(context.Background(), announce.Service{Key: key, Addrs: []netip.Addr{svcV4, svcV6}})
				case 1:
					_ = a.Withdraw(context.Background(), key)
				case 2:
					c.deliver(arpRequest(broadcastMAC, clientV4, svcV4))
					c.deliver(nsFrame(nsOpts{src: clientV6, target: svcV6}))
				case 3:
					if i%2 == 0 {
						r.MarkDead("other")
					} else {
						r.MarkAlive("other")
					}
					_ = a.Answering()
					_ = a.Interfaces()
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, a.Close())
}
