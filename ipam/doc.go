// Package ipam hands out IP addresses for LoadBalancer services.
//
// A [Manager] assigns addresses to services from pools ([Pool]): ranges of
// either or both families, selectors matched against the service's labels
// and its namespace's labels, a priority and a [Strategy]. A controller
// calls [Manager.Restore] once at start, [Manager.Assign] whenever a
// service or a pool changes, and [Manager.Release] when a service goes:
//
//	m := ipam.NewManager()
//	_ = m.SetPool(ipam.Pool{Name: "web", Ranges: []ipam.Range{ipam.MustParseRange("10.0.0.0/24")}})
//	a, err := m.Assign(ipam.Request{Key: "shop/front"}) // a.Addrs: [10.0.0.1]
//
// Rules to know:
//   - A [Range] is written as a CIDR prefix or as a start–stop span, and
//     keeps its spelling. Only a range written as a prefix of more than two
//     addresses loses its first and last address (unless the pool sets
//     AllowFirstLast). IPv4-mapped IPv6 addresses are never handed out.
//   - Assign is an idempotent ensure. Valid addresses come back unchanged;
//     invalid ones (pool deleted, address left the pool, pool no longer
//     selects the service, request or sharing changed) are replaced,
//     keeping what still fits, and the [Assignment] says why. If nothing
//     can replace them, Assign releases them and returns Reason [Released]
//     beside the error. Refusing a service that holds nothing changes
//     nothing.
//   - Restore adopts the addresses services already hold (from their
//     status), from disabled and ManualOnly pools too, whatever the order
//     of the requests. A refused request holds nothing: Assign it after.
//     Afterwards a disabled pool makes no new assignment ([ErrDisabled]); a
//     ManualOnly pool serves only requests that name it or its addresses.
//   - A range overlapping a range in use of another pool is not used until
//     that one goes ([PoolStatus].Conflicts): overlaps never move a service.
//   - Services with the same SharingKey share an address when their ports
//     do not collide; across namespaces only where the pool allows it.
//
// Errors wrap the sentinels of errors.go (test with errors.Is) and name the
// input; a call that fails changes no state, but for the release above.
//
// A Manager is safe for concurrent use, does no I/O, starts no goroutine
// and logs to an optional *slog.Logger ([WithLogger]). An [Allocator]
// hands out the addresses of one set of ranges on its own; it is not safe
// for concurrent use. A Range is an immutable value.
package ipam
