package ipam

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by this package wraps one or more of
// them, so callers can test with errors.Is; the message names the input.
var (
	// ErrInvalidRange reports a range, prefix or address that cannot be parsed
	// or is not acceptable (zones, IPv4-mapped IPv6, host bits, from > to).
	ErrInvalidRange = errors.New("ipam: invalid range")
	// ErrFamily reports an address family mismatch or an allocator without
	// any range of the requested family.
	ErrFamily = errors.New("ipam: address family")
	// ErrOverlap reports ranges that overlap (or repeat) each other.
	ErrOverlap = errors.New("ipam: overlapping ranges")
	// ErrExhausted reports that no free address of the family is left.
	ErrExhausted = errors.New("ipam: no free address")
	// ErrInUse reports that a specific address is already allocated.
	ErrInUse = errors.New("ipam: address in use")
	// ErrOutOfRange reports an address outside the allocator's ranges, or
	// one reserved at construction.
	ErrOutOfRange = errors.New("ipam: address out of range")
	// ErrNotAllocated reports the release of an address that is not allocated.
	ErrNotAllocated = errors.New("ipam: address not allocated")
	// ErrInvalidConfig reports an AllocatorOption with an invalid value,
	// such as an unknown Strategy.
	ErrInvalidConfig = errors.New("ipam: invalid config")

	// Sentinels of the Manager, which also returns those above.

	// ErrNoPool reports that no pool exists, selects the service or holds
	// the requested addresses.
	ErrNoPool = errors.New("ipam: no pool")
	// ErrNotFound reports an unknown service key or pool name.
	ErrNotFound = errors.New("ipam: not found")
	// ErrDisabled reports that the pool named by a request, or holding the
	// addresses it asks for, is disabled.
	ErrDisabled = errors.New("ipam: pool disabled")
	// ErrInvalidPool reports a pool that cannot be configured: no name, an
	// invalid or repeated range, an unknown strategy.
	ErrInvalidPool = errors.New("ipam: invalid pool")
	// ErrInvalidRequest reports a request that cannot be served as given: no
	// key, invalid addresses or ports, an unknown family policy.
	ErrInvalidRequest = errors.New("ipam: invalid request")
	// ErrSharing reports that an address cannot be shared: the sharing keys
	// differ, ports collide, or the services are in different namespaces
	// and the pool does not allow cross-namespace sharing. It comes wrapped
	// together with ErrInUse.
	ErrSharing = errors.New("ipam: address cannot be shared")
)

// prefix starts every error message of the package, once.
const prefix = "ipam: "

// errorf is fmt.Errorf for messages that embed errors of this package: it
// prefixes the message with "ipam: " and prints every error argument
// without that prefix, so the message carries it once. %w wraps as in
// fmt.Errorf; format must not start with the prefix.
func errorf(format string, args ...any) error {
	shown := make([]any, len(args))
	for i, a := range args {
		if e, ok := a.(error); ok {
			a = bare(e)
		}
		shown[i] = a
	}
	msg := prefix + fmt.Sprintf(strings.ReplaceAll(format, "%w", "%s"), shown...)
	return &wrapError{msg: msg, err: fmt.Errorf(format, args...)}
}

// bare returns the message of err without the package prefix.
func bare(err error) string { return strings.TrimPrefix(err.Error(), prefix) }

// A wrapError has its own message and wraps the sentinels of err.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }
