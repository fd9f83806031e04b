package ipam

import "errors"

// Sentinel errors of the Manager, in addition to those of the Allocator
// (ErrInUse, ErrOutOfRange, ErrExhausted, ErrFamily, ErrOverlap and
// ErrInvalidRange, which the Manager also returns).
var (
	// ErrNoPool reports that no pool exists, selects the service or holds
	// the requested addresses.
	ErrNoPool = errors.New("ipam: no pool")
	// ErrNotFound reports an unknown service key or pool name.
	ErrNotFound = errors.New("ipam: not found")
	// ErrDisabled reports that the pool named by a request is disabled.
	ErrDisabled = errors.New("ipam: pool disabled")
	// ErrInvalidPool reports a pool that cannot be configured: no name, an
	// invalid or repeated range, an unknown strategy.
	ErrInvalidPool = errors.New("ipam: invalid pool")
	// ErrInvalidRequest reports a request that cannot be served as given: no
	// key, invalid addresses or ports, an unknown family policy.
	ErrInvalidRequest = errors.New("ipam: invalid request")
)

// ErrSharing reports that an address cannot be shared: the sharing keys
// differ, ports collide, or the services are in different namespaces and
// the pool does not allow cross-namespace sharing. It comes wrapped together
// with ErrInUse.
var ErrSharing = errors.New("ipam: address cannot be shared")
