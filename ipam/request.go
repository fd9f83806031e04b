package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/lbkit/lbkit/selector"
)

// Virtual labels added to a service's labels when a pool's ServiceSelector
// is matched, as Cilium does, so that pools can select services by name and
// namespace. They override labels of the same key in Request.Labels.
const (
	ServiceNamespaceLabel = "io.kubernetes.service.namespace"
	ServiceNameLabel      = "io.kubernetes.service.name"
)

// NamespaceNameLabel is the label Kubernetes puts on every namespace. It is
// added to Request.NamespaceLabels (unless present) with the value of
// the namespace of Request.Key when a pool's NamespaceSelector is matched.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// A FamilyPolicy says which address families a service wants. The zero
// value is PreferDualStack.
type FamilyPolicy uint8

const (
	// PreferDualStack asks for one address of each family the chosen pool
	// has, and accepts one family when only one is available.
	PreferDualStack FamilyPolicy = iota
	// RequireDualStack asks for one IPv4 and one IPv6 address from the same
	// pool and fails when no matching pool can give both.
	RequireDualStack
	// SingleStackIPv4 asks for one IPv4 address.
	SingleStackIPv4
	// SingleStackIPv6 asks for one IPv6 address.
	SingleStackIPv6
)

// String returns the policy's name, e.g. "PreferDualStack".
func (p FamilyPolicy) String() string {
	switch p {
	case PreferDualStack:
		return "PreferDualStack"
	case RequireDualStack:
		return "RequireDualStack"
	case SingleStackIPv4:
		return "SingleStackIPv4"
	case SingleStackIPv6:
		return "SingleStackIPv6"
	}
	return fmt.Sprintf("FamilyPolicy(%d)", uint8(p))
}

// families returns the families p wants and whether all are required.
func (p FamilyPolicy) families() (fams []Family, all bool) {
	switch p {
	case SingleStackIPv4:
		return []Family{IPv4}, true
	case SingleStackIPv6:
		return []Family{IPv6}, true
	case RequireDualStack:
		return []Family{IPv4, IPv6}, true
	}
	return []Family{IPv4, IPv6}, false
}

// fits reports whether addresses of the families in fams (one each) satisfy p.
func (p FamilyPolicy) fits(has4, has6 bool) bool {
	switch p {
	case SingleStackIPv4:
		return has4 && !has6
	case SingleStackIPv6:
		return has6 && !has4
	case RequireDualStack:
		return has4 && has6
	}
	return has4 || has6
}

// A Protocol is a transport protocol of a service port.
type Protocol string

// Protocols of service ports, spelt as Kubernetes does.
const (
	TCP  Protocol = "TCP"
	UDP  Protocol = "UDP"
	SCTP Protocol = "SCTP"
)

// A Port is a service port. Two ports collide when they have the same
// protocol and number: TCP 80 and UDP 80 do not.
type Port struct {
	Protocol Protocol
	Port     uint16
}

// String returns the port as "TCP/80".
func (p Port) String() string { return fmt.Sprintf("%s/%d", p.Protocol, p.Port) }

// A Request asks the Manager for the addresses of one service.
type Request struct {
	// Key identifies the service as "namespace/name". The part before the
	// first "/" is its namespace (none without a "/"), the rest its name:
	// they feed the virtual labels ServiceNamespaceLabel, ServiceNameLabel
	// and NamespaceNameLabel and the cross-namespace sharing rule.
	Key string
	// Labels of the service, matched by pools' ServiceSelector.
	Labels selector.Set
	// NamespaceLabels are the labels of the service's namespace, matched by
	// pools' NamespaceSelector.
	NamespaceLabels selector.Set
	// Families says which address families the service wants; the zero
	// value is PreferDualStack.
	Families FamilyPolicy
	// Addrs are specific addresses wanted, at most one per family, all in
	// one pool. When set, exactly these addresses are assigned. For
	// Restore, they are the addresses the service already holds.
	Addrs []netip.Addr
	// Pool, if set, names the only pool to use. A ManualOnly pool is used
	// only when named here or when Addrs lie in it.
	Pool string
	// SharingKey lets services with the same key share an address when
	// their Ports do not collide. Services without a key never share.
	SharingKey string
	// Ports are the service's ports (protocol TCP, UDP or SCTP, number not
	// zero), checked for collisions when sharing.
	Ports []Port
}

// request is a validated, normalized Request being served.
type request struct {
	Request
	namespace, name string        // from Key
	addrs           [2]netip.Addr // by familyIndex; zero if not requested
	// keep are the addresses, by familyIndex, that the service held in
	// keepPool before this Assign and that are still in it: a reassignment
	// within that pool tries them first, so that only what must move moves.
	// If the pool was deleted (keepPool nil), every pool tries them: a pool
	// renamed (deleted and added again with the same ranges) keeps them.
	keepPool *pool
	keep     [2]netip.Addr
}

// remember records the addresses of old, the record being replaced, as the
// ones to keep: its live ones if the service stays in old's pool, all of
// them in any pool if old's pool was deleted.
func (r *request) remember(old *record) {
	if !old.pool.dead {
		r.keepPool = old.pool
	}
	for _, h := range old.holders {
		if !h.dead || old.pool.dead {
			r.keep[familyIndex(FamilyOf(h.addr))] = h.addr
		}
	}
}

// kept returns the address of family f to try first in p, or the zero Addr.
func (r *request) kept(p *pool, f Family) netip.Addr {
	if r.keepPool != nil && p != r.keepPool {
		return netip.Addr{}
	}
	return r.keep[familyIndex(f)]
}

// svcLabels is the label set a ServiceSelector sees: the service's labels
// plus the virtual labels.
type svcLabels request

// Lookup implements selector.Labels.
func (l *svcLabels) Lookup(key string) (string, bool) {
	switch key {
	case ServiceNamespaceLabel:
		return l.namespace, true
	case ServiceNameLabel:
		return l.name, true
	}
	v, ok := l.Labels[key]
	return v, ok
}

// nsLabels is the label set a NamespaceSelector sees.
type nsLabels request

// Lookup implements selector.Labels.
func (l *nsLabels) Lookup(key string) (string, bool) {
	v, ok := l.NamespaceLabels[key]
	if !ok && key == NamespaceNameLabel {
		return l.namespace, true
	}
	return v, ok
}

// validate reports whether r is a valid request, or why not.
func (r *Request) validate() error {
	if r.Key == "" {
		return fmt.Errorf("%w: empty service key", ErrInvalidRequest)
	}
	if err := r.check(); err != nil {
		return errorf("%w: service %q: %w", ErrInvalidRequest, r.Key, err)
	}
	return nil
}

func (r *Request) check() error {
	if r.Families > SingleStackIPv6 {
		return fmt.Errorf("unknown %v", r.Families)
	}
	var seen [2]netip.Addr
	for _, a := range r.Addrs {
		if reason := checkAddr(a); reason != "" {
			return errors.New(reason)
		}
		i := familyIndex(FamilyOf(a))
		if seen[i].IsValid() {
			return fmt.Errorf("more than one %v address (%s, %s)", FamilyOf(a), seen[i], a)
		}
		seen[i] = a
	}
	if len(r.Addrs) > 0 && !r.Families.fits(seen[0].IsValid(), seen[1].IsValid()) {
		return fmt.Errorf("%w: addresses %v do not fit %v", ErrFamily, r.Addrs, r.Families)
	}
	for _, p := range r.Ports {
		if p.Protocol != TCP && p.Protocol != UDP && p.Protocol != SCTP {
			return fmt.Errorf("port %v: protocol must be TCP, UDP or SCTP", p)
		}
		if p.Port == 0 {
			return fmt.Errorf("port %v: number 0", p)
		}
	}
	return nil
}

// index fills r.namespace, r.name and r.addrs from the validated Request.
func (r *request) index() {
	var ok bool
	r.namespace, r.name, ok = strings.Cut(r.Key, "/")
	if !ok {
		r.namespace, r.name = "", r.Key
	}
	for _, a := range r.Addrs {
		r.addrs[familyIndex(FamilyOf(a))] = a
	}
}

// specific reports whether r asks for specific addresses.
func (r *request) specific() bool { return len(r.Addrs) > 0 }

// Reason says why Assign changed, or did not change, a service's addresses.
type Reason uint8

const (
	// Unchanged: the service already held valid addresses, returned as they were.
	Unchanged Reason = iota
	// Assigned: the service held no addresses before.
	Assigned
	// PoolDeleted: the service's pool was deleted.
	PoolDeleted
	// AddrLeftPool: an address no longer lies in the usable ranges of the
	// service's pool (the pool's ranges changed).
	AddrLeftPool
	// NotSelected: the pool no longer selects the service (its labels, its
	// namespace's labels or the pool's selectors changed).
	NotSelected
	// RequestChanged: the request names another pool or other addresses, or
	// its family policy no longer fits the addresses held.
	RequestChanged
	// SharingChanged: the service can no longer share its address (sharing
	// key, ports or namespace changed, or the pool stopped allowing
	// cross-namespace sharing).
	SharingChanged
	// Released: the service's addresses were no longer valid for it and no
	// pool could give it new ones, so Assign released them and returned an
	// error; Previous holds what was released.
	Released
)

var reasonNames = [...]string{
	Unchanged:      "unchanged",
	Assigned:       "assigned",
	PoolDeleted:    "pool deleted",
	AddrLeftPool:   "address left the pool",
	NotSelected:    "pool no longer selects the service",
	RequestChanged: "request changed",
	SharingChanged: "sharing no longer possible",
	Released:       "released",
}

// String describes the reason, e.g. "pool deleted".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// An Assignment is the set of addresses a service holds from one pool.
type Assignment struct {
	Key        string
	Pool       string
	Addrs      []netip.Addr // IPv4 first
	SharingKey string
	// Stale reports, in Assignments, that the assignment is no longer
	// usable as it is: its pool was deleted or one of its addresses left
	// the pool's ranges. The next Assign for the key moves it.
	Stale bool
	// Reason says, in the result of Assign, whether and why the call
	// changed the service's addresses; Previous holds the assignment it
	// replaced or released when Reason is neither Unchanged nor Assigned.
	Reason   Reason
	Previous *Assignment
}

// String returns a short description such as
// "batuu/deathstar: empire-ip-pool [172.18.255.201 2001:db8:dead:beef::1]".
func (a Assignment) String() string {
	return fmt.Sprintf("%s: %s %v", a.Key, a.Pool, a.Addrs)
}
