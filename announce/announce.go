// Package announce defines how lbkit makes the network reach service
// addresses: the Announcer interface, implemented by the bgp and l2
// packages, and combinators that controllers compose.
package announce

import (
	"context"
	"net/netip"

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
//
// Implementations in lbkit are safe for concurrent use.
type Announcer interface {
	Announce(ctx context.Context, s Service) error
	Withdraw(ctx context.Context, key string) error
	Close() error
}
