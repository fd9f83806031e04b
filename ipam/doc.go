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
// Memory: a free interval costs about 70 bytes (its 32-byte btree item and
// share of a node), and about 155 with Random (Fenwick weight, a copy of the
// interval and a map entry per slot); allocated addresses cost nothing by
// themselves. A pool
// allocated lowest-first stays about one interval per range; the worst case,
// every allocated address between two free ones, is one interval per
// allocation.
//
// # Manager
//
// A [Manager] assigns addresses to services from many pools ([Pool]); it is what a
// controller calls for each LoadBalancer service. A Pool has ranges of
// either or both families, a ServiceSelector matched against the service's
// labels plus the virtual labels [ServiceNamespaceLabel] and
// [ServiceNameLabel] (as Cilium does), a NamespaceSelector matched against
// its namespace's labels, a Priority (higher first; equal priorities by
// name, so the choice is deterministic), a [Strategy], and the flags
// AllowFirstLast (otherwise the first and last address of every CIDR block
// of more than two addresses are never handed out), Disabled, ManualOnly
// (MetalLB's autoAssign: false) and AllowCrossNamespaceSharing.
//
// [Manager.Assign] is an idempotent "ensure": a service that holds valid
// addresses gets them back unchanged; one whose pool was deleted, whose
// labels no longer match, whose address left the pool, or whose request
// changed is moved, and the [Assignment] says why ([Reason]) and what it
// replaced; within the same pool it keeps the old addresses that still
// fit, so only what must move moves. The [FamilyPolicy] says which families a service wants
// (PreferDualStack, the zero value, RequireDualStack, SingleStackIPv4,
// SingleStackIPv6); all addresses of a service come from one pool. Specific
// addresses (Request.Addrs) are honoured when free or sharable: re-assigning
// every service with its current addresses after a restart, before
// assigning new ones, moves nothing. Services with the same sharing key
// share an address when their ports (protocol and number) do not collide,
// across namespaces only where the pool allows it.
//
// Overlapping pools: the ranges in use of all pools are kept in one btree
// ordered by first address. Ranges in use never overlap, so those
// overlapping a given range are adjacent in that order and found in
// O(log n). A range that overlaps a range in use of another pool when it is
// added — the newer claim — is marked conflicting and not used; the rest of
// its pool works, and [Manager.Pools] reports each [Conflict] (which range,
// which pool and range it collides with). A range in use stays in use as
// long as its pool keeps it, so a conflict never moves an assignment. When
// the ranges blocking a conflicting range go away, it is examined again
// (oldest first) and used if nothing in use overlaps it any more. Counts
// ([PoolStatus.Free], [PoolStatus.Used]) are exact big integers for any
// size.
//
// Every refusal of the Manager is an error naming the service and the pool
// that wraps a sentinel — [ErrNoPool], [ErrDisabled], [ErrInUse] (with
// [ErrSharing] when sharing was refused), [ErrOutOfRange], [ErrExhausted],
// [ErrFamily], [ErrInvalidRequest], [ErrInvalidPool], [ErrNotFound] — and
// leaves the state unchanged: Assign records an undo log and rolls back.
//
// A Manager is safe for concurrent use (one lock; Pools and Assignments
// take it for reading). It does no I/O and starts no goroutine; decisions
// are logged to an optional *slog.Logger ([WithLogger]).
//
// Errors of Range and Allocator wrap the sentinels [ErrInvalidRange],
// [ErrFamily], [ErrOverlap], [ErrExhausted], [ErrInUse], [ErrOutOfRange],
// [ErrNotAllocated] and [ErrInvalidConfig], to be tested with errors.Is. A
// call that fails changes no state.
//
// Concurrency: Range is an immutable value. An Allocator is not safe for
// concurrent use, as google/btree is not: serialise calls. A Manager is safe
// for concurrent use.
//
// Deviations from the design sketch: the Allocator also offers [WithReserved]
// and [WithFirstLastReserved] (addresses excluded from allocation and from
// the counts; a range counts as a CIDR block when it is exactly one prefix,
// however it was written), and the sentinel [ErrInvalidConfig]. A single-address
// Range prints as a /32 or /128 prefix.
//
// Deviations from the design sketch for the Manager: [Assignment] also
// carries Key, SharingKey, Stale, Reason and Previous; [PoolStatus] has
// Ranges, Active, Conflicts, Disabled and Services fields and Free and Used
// methods; [Port]
// uses a [Protocol] type; Pool has a Strategy; the extra sentinels
// [ErrDisabled], [ErrSharing], [ErrInvalidPool] and [ErrInvalidRequest];
// [WithRandSource]; [Manager.Pool] and [Manager.Assignment], which
// look one up; the virtual namespace label [NamespaceNameLabel].
// Conflicts are decided by which range was in use first rather than by pool
// age alone, so that an update never takes a range from existing
// assignments. A disabled pool still honours requests for specific
// addresses, so that its assignments survive a controller restart; a
// ManualOnly pool keeps assignments made from it.
package ipam
