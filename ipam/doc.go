// Package ipam hands out IP addresses for LoadBalancer services.
//
// A [Range] is an inclusive span of addresses of one family, parsed from a
// CIDR prefix ("10.0.0.0/24"), a start–stop range ("10.0.0.5-10.0.0.9") or a
// single address, with an exact [Range.Size] for any size (a v6 /0 holds
// 2^128 addresses) and a canonical [Range.String] that [ParseRange] reads
// back to the same value.
//
// An [Allocator] hands out single addresses from a fixed set of disjoint
// IPv4 and IPv6 ranges. Its free space is a set of disjoint, non-adjacent
// free intervals per family, kept in a github.com/google/btree BTreeG with
// 128-bit arithmetic, so every operation — Allocate, AllocateAddr, Release,
// Allocated — costs O(log n) in the number of free intervals, whatever the
// size of the ranges. No per-address state is kept: a /64 costs the same as
// a /24. Two strategies exist: [LowestFirst] (default, deterministic) and
// [Random], uniform over all free addresses of the family. Random weights
// each free interval by its size through a Fenwick tree indexed by interval
// slot (google/btree keeps no subtree sums), which keeps it O(log m) worst
// case, m being the largest number of free intervals the allocator has held
// at once (slots are reused, never shrunk); the weights exist only for Random
// allocators. NewAllocator costs O(r log r) for r ranges.
//
// Memory: a free interval costs about 90 bytes (its btree item and share of
// a node), and about 125 with Random (Fenwick weight and a copy of the
// interval per slot); allocated addresses cost nothing by themselves. A pool
// allocated lowest-first stays about one interval per range; the worst case,
// every allocated address between two free ones, is one interval per
// allocation.
//
// Errors wrap the sentinels [ErrInvalidRange], [ErrFamily], [ErrOverlap],
// [ErrExhausted], [ErrInUse], [ErrOutOfRange] and [ErrNotAllocated], to be
// tested with errors.Is. A call that fails changes no state.
//
// Concurrency: Range is an immutable value. An Allocator is not safe for
// concurrent use, as google/btree is not: serialise calls.
//
// Deviations from the design sketch: the Allocator also offers [WithReserved]
// and [WithFirstLastReserved] (addresses excluded from allocation and from
// the counts; a range counts as a CIDR block when it is exactly one prefix,
// however it was written), [Allocator.Capacity], [Allocator.Contains],
// [Allocator.HasFamily], [Allocator.Ranges] and [Allocator.Reserved] for the
// multi-pool manager. A single-address Range prints as a /32 or /128 prefix.
package ipam
