package bgp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/lbkit/lbkit/selector"
)

// DefaultConnectRetry is the connect-retry time of peers that leave
// Peer.ConnectRetry zero. See Peer.ConnectRetry.
const DefaultConnectRetry = 3 * time.Second

// Config configures a Speaker.
type Config struct {
	// ASN is the local autonomous system number; it must not be 0.
	ASN uint32
	// RouterID is the BGP identifier; it must be an IPv4 address, even on
	// an IPv6-only node.
	RouterID netip.Addr
	// Listen makes the speaker accept sessions (from Passive peers, or
	// routers that dial in) on ListenPort, 0 meaning 179, at ListenAddrs,
	// empty meaning all (0.0.0.0 and ::). By default the speaker only
	// dials out, which needs no privileges.
	Listen      bool
	ListenPort  uint16
	ListenAddrs []netip.Addr
	// Logger receives GoBGP's and the speaker's logs; nil discards them.
	Logger *slog.Logger
	// Rules choose BGP attributes per service; see Rule.
	Rules []Rule
	// AggregateIPv4 and AggregateIPv6, when not 0, announce the prefix of
	// that length covering each address (for example /24 or /64) instead
	// of host routes. The prefix stays announced while any service has an
	// address in it.
	AggregateIPv4, AggregateIPv6 int
}

// A Rule gives the services whose labels match Selector (the zero Selector
// matches every service) the attributes in Attributes. A service matched by
// several rules gets the union of their communities and large communities
// and the LocalPref and MED of the first matching rule that sets them.
//
// When several services share a route (the same address, or the same
// aggregate), the route carries the attributes of the service with the
// smallest key.
type Rule struct {
	Selector selector.Selector
	Attributes
}

// Attributes are the BGP path attributes lbkit lets rules set.
type Attributes struct {
	// Communities are RFC 1997 communities; see ParseCommunity.
	Communities []Community
	// LargeCommunities are RFC 8092 large communities; see
	// ParseLargeCommunity.
	LargeCommunities []LargeCommunity
	// LocalPref is sent to iBGP peers only; nil means GoBGP's default 100.
	LocalPref *uint32
	// MED is the multi-exit discriminator; nil sends none.
	MED *uint32
}

// A Family is an address family a session carries.
type Family uint8

// The supported families.
const (
	IPv4Unicast Family = iota + 1
	IPv6Unicast
)

// String returns "ipv4-unicast" or "ipv6-unicast".
func (f Family) String() string {
	switch f {
	case IPv4Unicast:
		return "ipv4-unicast"
	case IPv6Unicast:
		return "ipv6-unicast"
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4Unicast
	}
	return IPv6Unicast
}

// A Peer is a BGP neighbor. Zero fields take the defaults documented on
// each.
type Peer struct {
	// Address is the neighbor's address, IPv4 or IPv6; it names the peer.
	Address netip.Addr
	// ASN is the neighbor's AS number: equal to Config.ASN for iBGP.
	ASN uint32
	// Port is the neighbor's TCP port; 0 means 179.
	Port uint16
	// LocalAddress is the source address of the session; unset lets the
	// kernel choose. It must be of Address's family.
	LocalAddress netip.Addr
	// Password enables TCP MD5 signatures (RFC 2385) with this key.
	Password string
	// EBGPMultihop, when not 0, is the IP TTL of an eBGP session whose
	// neighbor is not directly connected.
	EBGPMultihop uint8
	// HoldTime defaults to 90 s, KeepaliveTime to a third of it. Both are
	// whole seconds.
	HoldTime, KeepaliveTime time.Duration
	// ConnectRetry is the time between connection attempts, less up to a
	// quarter as jitter; 0 means DefaultConnectRetry. The first attempt
	// comes 1.5–2 s after the peer is added or its session ends (for
	// example because the router restarted).
	ConnectRetry time.Duration
	// Passive makes the speaker wait for the neighbor to connect.
	Passive bool
	// GracefulRestart advertises the graceful-restart capability (RFC
	// 4724) with RestartTime (0 means 120 s); see CloseGraceful.
	GracefulRestart bool
	RestartTime     time.Duration
	// Families lists the families the session carries; nil means the
	// family of Address.
	Families []Family
	// NextHopIPv4 and NextHopIPv6 override the next hop of routes of that
	// family sent to this peer; by default it is the session's local
	// address. A session carrying the family other than Address's
	// (MP-BGP) must set that family's next hop: GoBGP would otherwise send
	// an IPv4-mapped IPv6 address that routers accept but never install.
	NextHopIPv4, NextHopIPv6 netip.Addr
	// BFD runs Bidirectional Forwarding Detection with the neighbor; see
	// BFD.
	BFD BFD
	// Selector limits the routes sent to this peer to those of services
	// whose labels it matches; the zero Selector sends every route. A
	// route shared by several services follows the service whose
	// attributes it carries (the smallest key). UpdatePeer with a new
	// Selector announces and withdraws the difference without resetting
	// the session.
	Selector selector.Selector
}

// BFD configures a peer's Bidirectional Forwarding Detection session (RFC
// 5880, single hop per RFC 5881: the neighbor must be directly connected).
// Both sides send small UDP packets every MinTx or so; a side that hears
// nothing for Multiplier intervals declares the neighbor down. With the
// defaults a router that runs BFD for the session (BIRD's "bfd on", FRR's
// "neighbor ... bfd") drops the speaker's routes within about a second of
// the speaker's node going silent, instead of after the BGP hold time.
//
// When the session goes from Up to Down (the neighbor went silent or
// reported Down), the speaker closes the BGP session at once and lets it
// reconnect. A neighbor taking BFD down administratively does not count as
// a failure (RFC 5882). The BGP session does not wait for BFD to come up.
//
// The speaker listens on UDP port 3784 on every address while any peer has
// BFD: run one BFD-enabled Speaker (and no other BFD daemon) per network
// namespace.
type BFD struct {
	// Enabled turns BFD on for the peer.
	Enabled bool
	// MinTx is the desired minimum transmit interval and MinRx the
	// required minimum receive interval; 0 means 300 ms. The intervals
	// used are the slower of ours and the neighbor's.
	MinTx, MinRx time.Duration
	// Multiplier is the detection multiplier; 0 means 3.
	Multiplier uint8
}

func (p Peer) families() []Family {
	if len(p.Families) == 0 {
		return []Family{familyOf(p.Address)}
	}
	return p.Families
}

// validate reports why p cannot be configured, or nil.
func (p Peer) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %v: %s", ErrInvalidPeer, p.Address, fmt.Sprintf(format, args...))
	}
	switch {
	case !p.Address.IsValid() || p.Address.Is4In6() || p.Address.IsUnspecified():
		return bad("address must be a specific IPv4 or IPv6 address")
	case p.Address.Zone() != "":
		return bad("zoned addresses are not supported")
	case p.ASN == 0:
		return bad("ASN 0")
	case p.LocalAddress.IsValid() && p.LocalAddress.Is4() != p.Address.Is4():
		return bad("local address %v is not of the peer's family", p.LocalAddress)
	case p.LocalAddress.Is4In6() || p.LocalAddress.Zone() != "":
		return bad("local address %v must be a plain IPv6 address, not IPv4-mapped or zoned", p.LocalAddress)
	case p.NextHopIPv4.IsValid() && !p.NextHopIPv4.Is4():
		return bad("IPv4 next hop %v is not IPv4", p.NextHopIPv4)
	case p.NextHopIPv6.IsValid() && (!p.NextHopIPv6.Is6() || p.NextHopIPv6.Is4In6()):
		return bad("IPv6 next hop %v is not IPv6", p.NextHopIPv6)
	}
	if err := p.validateTimers(); err != nil {
		return bad("%v", err)
	}
	if err := p.BFD.validate(p.EBGPMultihop); err != nil {
		return bad("BFD: %v", err)
	}
	seen := map[Family]bool{}
	for _, f := range p.families() {
		switch {
		case f != IPv4Unicast && f != IPv6Unicast:
			return bad("unsupported family %v", f)
		case seen[f]:
			return bad("family %v listed twice", f)
		case f == IPv6Unicast && p.Address.Is4() && !p.NextHopIPv6.IsValid():
			return bad("IPv6 routes over an IPv4 session need NextHopIPv6 (GoBGP would send an IPv4-mapped next hop that routers do not install)")
		case f == IPv4Unicast && p.Address.Is6() && !p.NextHopIPv4.IsValid():
			return bad("IPv4 routes over an IPv6 session need NextHopIPv4")
		}
		seen[f] = true
	}
	return nil
}

func (p Peer) validateTimers() error {
	secs := func(d time.Duration) bool { return d%time.Second == 0 }
	switch {
	case p.HoldTime < 0 || p.KeepaliveTime < 0 || p.ConnectRetry < 0 || p.RestartTime < 0:
		return errors.New("negative duration")
	case !secs(p.HoldTime) || !secs(p.KeepaliveTime) || !secs(p.ConnectRetry) || !secs(p.RestartTime):
		return errors.New("timers must be whole seconds")
	case p.HoldTime != 0 && p.HoldTime < 3*time.Second:
		return errors.New("hold time must be 0 or at least 3 s")
	case p.HoldTime > 65535*time.Second:
		return errors.New("hold time too long")
	case p.KeepaliveTime != 0 && p.HoldTime != 0 && p.KeepaliveTime >= p.HoldTime:
		return errors.New("keepalive time must be less than hold time")
	case p.RestartTime > 4095*time.Second:
		return errors.New("restart time above 4095 s")
	}
	return nil
}

func (b BFD) validate(multihop uint8) error {
	ok := func(d time.Duration) bool { return d == 0 || (d >= 10*time.Millisecond && d <= time.Minute) }
	switch {
	case !b.Enabled:
		return nil
	case !ok(b.MinTx) || !ok(b.MinRx):
		return errors.New("intervals must be 0 or between 10 ms and 1 minute")
	case multihop != 0:
		return errors.New("only single-hop BFD is supported: not with EBGPMultihop")
	}
	return nil
}

// validate reports why c cannot start a speaker, or nil; it also parses
// the rules.
func (c Config) validate() ([]rule, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.ASN == 0:
		return nil, bad("ASN 0")
	case !c.RouterID.Is4() || c.RouterID.IsUnspecified():
		return nil, bad("router ID %v must be a non-zero IPv4 address", c.RouterID)
	case !c.Listen && (c.ListenPort != 0 || len(c.ListenAddrs) != 0):
		return nil, bad("ListenPort or ListenAddrs without Listen")
	case c.AggregateIPv4 < 0 || c.AggregateIPv4 > 32:
		return nil, bad("IPv4 aggregation length %d", c.AggregateIPv4)
	case c.AggregateIPv6 < 0 || c.AggregateIPv6 > 128:
		return nil, bad("IPv6 aggregation length %d", c.AggregateIPv6)
	}
	for _, a := range c.ListenAddrs {
		if !a.IsValid() || a.Zone() != "" {
			return nil, bad("listen address %v", a)
		}
	}
	rules := make([]rule, 0, len(c.Rules))
	for _, r := range c.Rules {
		rules = append(rules, rule{sel: r.Selector, attrs: parseAttributes(r.Attributes)})
	}
	return rules, nil
}

// attrs is the parsed, canonical form of Attributes: sorted, deduplicated.
type attrs struct {
	communities []Community
	large       []LargeCommunity
	localPref   *uint32
	med         *uint32
}

type rule struct {
	sel   selector.Selector
	attrs attrs
}

func parseAttributes(a Attributes) attrs {
	out := attrs{
		communities: slices.Clone(a.Communities),
		large:       slices.Clone(a.LargeCommunities),
		localPref:   copyPtr(a.LocalPref),
		med:         copyPtr(a.MED),
	}
	out.normalize()
	return out
}

// copyPtr returns a pointer to a copy of *p, or nil: the speaker must not
// see later changes the caller makes through p.
func copyPtr(p *uint32) *uint32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (a *attrs) normalize() {
	slices.Sort(a.communities)
	a.communities = slices.Compact(a.communities)
	slices.SortFunc(a.large, LargeCommunity.Compare)
	a.large = slices.Compact(a.large)
}

// merge adds b to a: union of communities, first LocalPref and MED win.
func (a *attrs) merge(b attrs) {
	a.communities = append(a.communities, b.communities...)
	a.large = append(a.large, b.large...)
	if a.localPref == nil {
		a.localPref = b.localPref
	}
	if a.med == nil {
		a.med = b.med
	}
}

func (a attrs) equal(b attrs) bool {
	return slices.Equal(a.communities, b.communities) && slices.Equal(a.large, b.large) &&
		eqPtr(a.localPref, b.localPref) && eqPtr(a.med, b.med)
}

func eqPtr(a, b *uint32) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// attrsFor returns the merged attributes of the rules matching labels.
func attrsFor(rules []rule, labels selector.Labels) attrs {
	var out attrs
	for _, r := range rules {
		if r.sel.Matches(labels) {
			out.merge(r.attrs)
		}
	}
	out.normalize()
	return out
}
