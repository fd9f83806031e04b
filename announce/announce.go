// Package announce defines how lbkit makes the network reach service
// addresses: the Announcer interface, implemented by the bgp and l2
// packages, and combinators that controllers compose:
//
//   - Select passes on only the services whose labels match a selector, and
//     withdraws a service whose labels stop matching ("announce over BGP
//     only what is labelled announced=bgp").
//   - Multi fans every call out to several announcers, trying each and
//     joining their errors.
//
// A controller typically builds one Announcer at start,
//
//	a := announce.Multi(
//		announce.Select(selector.MustParse("announced=bgp"), speaker),
//		announce.Select(selector.MustParse("announced=l2"), l2announcer),
//	)
//
// calls a.Announce for every service it reconciles (with all its current
// addresses), a.Withdraw when a service goes away, and a.Close when it
// stops: Close withdraws everything and stops every announcer beneath.
// Package announcetest provides a Recorder for the controller's unit tests.
//
// Select and Multi leave out nil announcers, nil pointers included (an
// unset *l2.Announcer), so that optional announcers can be passed as they
// are.
//
// # Concurrency
//
// An Announcer must be safe for concurrent use. Those of lbkit are, and so
// are those returned by Select and Multi over such announcers. Select
// serializes the calls for one key, so that a label flip never races its
// own withdrawal; calls for different keys run in parallel.
package announce

import (
	"context"
	"net/netip"
	"reflect"

	"github.com/lbkit/lbkit/selector"
)

// A Service is what announcers see: a key that names the service (for
// example "batuu/deathstar"), its labels and its addresses.
type Service struct {
	Key    string
	Labels selector.Set
	Addrs  []netip.Addr
}

// An Announcer makes the network reach service addresses.
//
// Announce is an idempotent upsert: afterwards exactly s.Addrs are announced
// for s.Key; addresses dropped from the list are withdrawn. Withdraw removes
// everything announced for key; withdrawing an unknown key is not an error.
// Close withdraws everything and releases resources; calling it twice is
// harmless.
type Announcer interface {
	Announce(ctx context.Context, s Service) error
	Withdraw(ctx context.Context, key string) error
	Close() error
}

// isNil reports whether a is nil or a nil pointer (an announcer that was
// never created), or Select over such an announcer.
func isNil(a Announcer) bool {
	if a == nil || a == (none{}) {
		return true
	}
	v := reflect.ValueOf(a)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
