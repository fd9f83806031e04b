package ipam

import "errors"

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
)
