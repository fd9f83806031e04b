package l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/internal/keyset"
)

// Defaults for Config.
const (
	DefaultGratuitousCount    = 3
	DefaultGratuitousInterval = 500 * time.Millisecond
	DefaultRescan             = 10 * time.Second
)

// Config configures an Announcer. The zero value answers for every service
// on every up, non-loopback Ethernet interface.
type Config struct {
	// Interfaces selects interfaces by exact name or by regular expression
	// matched against the whole name. An interface named exactly is used
	// even when it is down or a loopback; one matched only by a regular
	// expression must be up and not a loopback. Empty selects every up,
	// non-loopback interface with an Ethernet address.
	Interfaces []string

	// Elector decides which services this node answers for. Nil is Always().
	Elector Elector

	// Gratuitous configures the announcements sent when this node starts
	// answering for an address.
	Gratuitous Gratuitous

	// Rescan is how often New's announcer looks for interfaces that
	// appeared, went up, went down or vanished, besides looking at once
	// when the kernel reports a change (rtnetlink). Zero is DefaultRescan;
	// negative disables the periodic rescans.
	Rescan time.Duration

	// Logger receives the announcer's logs. Nil discards them.
	Logger *slog.Logger
}

// Gratuitous configures gratuitous ARP and unsolicited neighbour
// advertisements: Count frames per address and interface, Interval apart,
// the first at once, whenever this node starts answering for an address;
// and, when Repeat is positive, one more per address and interface every
// Repeat for as long as it answers.
//
// Switches forget a MAC address they have not seen for their ageing time
// (300 s by default on most) and then flood the frames sent to it; a
// Repeat below that (such as 60 s) keeps the answering node's port
// learnt even when its service only receives traffic.
type Gratuitous struct {
	Count    int           // zero: DefaultGratuitousCount; negative: none
	Interval time.Duration // zero: DefaultGratuitousInterval
	Repeat   time.Duration // zero or negative: no periodic announcements
}

// A Link is an interface the announcer answers on, with the connection it
// reads and writes whole Ethernet frames on: an AF_PACKET raw socket, or a
// fake in tests (as with mdlayher/arp's arp.New). If Conn implements
// GroupJoiner (the sockets New opens do), the announcer joins the
// solicited-node group of each owned IPv6 address through it.
type Link struct {
	Interface *net.Interface // Name, Index and a 6-byte HardwareAddr are used
	Conn      net.PacketConn
}

// A GroupJoiner joins and leaves IPv6 multicast groups on a link: at least
// at the link layer (33:33:xx:xx:xx:xx) so that the interface accepts the
// group's frames, and ideally at the IPv6 layer so that MLD-snooping
// switches forward them.
type GroupJoiner interface {
	JoinGroup(group netip.Addr) error
	LeaveGroup(group netip.Addr) error
}

// An Announcer answers ARP and NDP for the addresses of the services this
// node leads. It implements announce.Announcer and is safe for concurrent
// use.
type Announcer struct {
	log      *slog.Logger
	elector  Elector
	grat     Gratuitous
	rescan   time.Duration
	match    matcher
	discover bool // New: find interfaces; NewWithLinks: fixed links

	ctx    context.Context // done when Close is called
	cancel context.CancelFunc
	wg     sync.WaitGroup

	readyMu   sync.Mutex // serialises readiness reports
	readySent int        // 0: never reported, 1: ready, -1: not ready

	mu       sync.RWMutex
	closed   bool
	services map[string][]netip.Addr   // desired, by service key
	owners   map[netip.Addr]keyset.Set // service keys per address
	active   map[netip.Addr]*claim     // addresses answered now
	links    map[int]*link             // by interface index
	failed   map[string]bool           // interfaces whose socket failed (log once)
	stats    map[string]*linkStats     // by interface name, kept when links go
	refresh  uint64                    // the Refresher's value last seen

	conflictMu sync.Mutex
	conflicts  map[netip.Addr]time.Time // last conflict warning per address
}

// A claim is one period of answering for an address; bursts of gratuitous
// frames stop when their claim is no longer the active one.
type claim struct{ addr netip.Addr }

var _ announce.Announcer = (*Announcer)(nil)

// New returns an Announcer that opens AF_PACKET sockets (which needs
// CAP_NET_RAW) on the interfaces cfg selects, now and as they appear. ctx
// bounds the start only: the announcer runs until Close.
func New(ctx context.Context, cfg Config) (*Announcer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, err := newAnnouncer(cfg, true)
	if err != nil {
		return nil, err
	}
	a.scan()
	a.reportReady()
	a.wg.Add(1)
	go a.watchInterfaces()
	return a, nil
}

// NewWithLinks returns an Announcer that answers on exactly links, whose
// connections it owns and closes; it counts them as up. cfg.Interfaces and
// cfg.Rescan are ignored. ctx bounds the start only: the announcer runs
// until Close.
func NewWithLinks(ctx context.Context, cfg Config, links ...Link) (*Announcer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for i, l := range links {
		if l.Interface == nil || len(l.Interface.HardwareAddr) != 6 || l.Conn == nil {
			return nil, fmt.Errorf("%w: link %d needs an interface with a 6-byte hardware address and a conn", ErrInvalidConfig, i)
		}
		if seen[l.Interface.Index] {
			return nil, fmt.Errorf("%w: link %d: interface index %d used twice", ErrInvalidConfig, i, l.Interface.Index)
		}
		seen[l.Interface.Index] = true
	}
	a, err := newAnnouncer(cfg, false)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	for _, l := range links {
		a.addLinkLocked(l.Interface, wrapConn(l.Interface, l.Conn))
	}
	a.mu.Unlock()
	a.reportReady()
	return a, nil
}

func newAnnouncer(cfg Config, discover bool) (*Announcer, error) {
	m, err := compileMatcher(cfg.Interfaces)
	if err != nil {
		return nil, err
	}
	g := cfg.Gratuitous
	if g.Interval < 0 {
		return nil, fmt.Errorf("%w: negative gratuitous interval %v", ErrInvalidConfig, g.Interval)
	}
	if g.Count == 0 {
		g.Count = DefaultGratuitousCount
	}
	if g.Interval == 0 {
		g.Interval = DefaultGratuitousInterval
	}
	a := &Announcer{
		log:      cfg.Logger,
		elector:  cfg.Elector,
		grat:     g,
		rescan:   cfg.Rescan,
		match:    m,
		discover: discover,
		services: map[string][]netip.Addr{},
		owners:   map[netip.Addr]keyset.Set{},
		active:   map[netip.Addr]*claim{},
		links:    map[int]*link{},
		failed:   map[string]bool{},
		stats:    map[string]*linkStats{},

		conflicts: map[netip.Addr]time.Time{},
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.elector == nil {
		a.elector = Always()
	}
	if a.rescan == 0 {
		a.rescan = DefaultRescan
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if r, ok := a.elector.(Refresher); ok {
		a.refresh = r.Refresh()
	}
	ch := a.elector.Changes() // before any Announce: no change is missed
	a.wg.Add(1)
	go a.watchElector(ch)
	if g.Repeat > 0 {
		a.wg.Add(1)
		go a.repeat(g.Repeat)
	}
	return a, nil
}

// Announce makes this node answer for exactly s.Addrs under s.Key, when the
// elector says it leads s.Key. IPv4-mapped IPv6 addresses count as IPv4.
// An address shared by several services is decided by the elector for the
// smallest of their keys, so that all nodes agree on one answerer. Replies
// start when Announce returns; gratuitous frames follow in the background.
func (a *Announcer) Announce(ctx context.Context, s announce.Service) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	addrs, err := validate(s)
	if err != nil {
		return err
	}
	return a.set(s.Key, addrs)
}

// Withdraw stops answering for key's addresses at once: once it returns, no
// reply or announcement for them leaves this announcer.
func (a *Announcer) Withdraw(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.set(key, nil)
}

func validate(s announce.Service) ([]netip.Addr, error) {
	if s.Key == "" {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidService)
	}
	addrs := make([]netip.Addr, 0, len(s.Addrs))
	for _, ad := range s.Addrs {
		ad = ad.Unmap()
		if !ad.IsValid() || ad.Zone() != "" || ad.IsUnspecified() || ad.IsMulticast() ||
			ad.IsLoopback() || ad == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return nil, fmt.Errorf("%w: %s: cannot answer for address %q", ErrInvalidService, s.Key, ad)
		}
		addrs = append(addrs, ad)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return slices.Compact(addrs), nil
}

func (a *Announcer) set(key string, addrs []netip.Addr) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	old := a.services[key]
	for _, ad := range old {
		a.owners[ad] = a.owners[ad].Remove(key)
		if len(a.owners[ad]) == 0 {
			delete(a.owners, ad)
		}
	}
	if len(addrs) == 0 {
		delete(a.services, key)
	} else {
		a.services[key] = addrs
	}
	for _, ad := range addrs {
		a.owners[ad] = a.owners[ad].Add(key)
	}
	started := a.reconcileLocked(slices.Concat(old, addrs))
	a.burstLocked(started, nil)
	a.mu.Unlock()
	return nil
}

// reconcileLocked makes the active set agree with owners and the elector
// for addrs, joining and leaving groups, and returns the new claims.
func (a *Announcer) reconcileLocked(addrs []netip.Addr) []*claim {
	var started []*claim
	for _, ad := range addrs {
		owner, owned := a.owners[ad].Owner()
		want := owned && a.elector.Leads(owner)
		c, has := a.active[ad]
		switch {
		case want && !has:
			c = &claim{addr: ad}
			a.active[ad] = c
			for _, l := range a.links {
				l.join(ad, a.log)
			}
			started = append(started, c)
			a.log.Debug("l2: answering", "addr", ad, "service", owner)
		case !want && has:
			delete(a.active, ad)
			a.conflictMu.Lock()
			delete(a.conflicts, ad)
			a.conflictMu.Unlock()
			for _, l := range a.links {
				l.leave(ad, a.log)
			}
			a.log.Debug("l2: stopped answering", "addr", ad)
		}
	}
	return started
}

func (a *Announcer) watchElector(ch <-chan struct{}) {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-ch:
			ch = a.elector.Changes()
			a.reconcileAll()
		}
	}
}

func (a *Announcer) reconcileAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	addrs := make([]netip.Addr, 0, len(a.owners)+len(a.active))
	for ad := range a.owners {
		addrs = append(addrs, ad)
	}
	for ad := range a.active {
		if _, ok := a.owners[ad]; !ok {
			addrs = append(addrs, ad)
		}
	}
	started := a.reconcileLocked(addrs)
	if r, ok := a.elector.(Refresher); ok {
		if gen := r.Refresh(); gen != a.refresh {
			a.refresh = gen
			started = a.activeClaimsLocked() // started ones included
		}
	}
	a.burstLocked(started, nil)
}

// repeat announces every active address on every link each period.
func (a *Announcer) repeat(period time.Duration) {
	defer a.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
		a.mu.RLock()
		claims := a.activeClaimsLocked()
		a.mu.RUnlock()
		a.announce(claims, nil)
	}
}

// reportReady tells a ReadyElector whether any interface is up, when that
// changed since the last report.
func (a *Announcer) reportReady() {
	e, ok := a.elector.(ReadyElector)
	if !ok {
		return
	}
	a.readyMu.Lock()
	defer a.readyMu.Unlock()
	a.mu.RLock()
	ready := false
	for _, l := range a.links {
		ready = ready || l.up
	}
	closed := a.closed
	a.mu.RUnlock()
	state := map[bool]int{true: 1, false: -1}[ready]
	if closed || state == a.readySent {
		return
	}
	a.readySent = state
	a.log.Info("l2: reporting readiness to the elector", "ready", ready)
	e.SetReady(ready)
}

// Answering returns the addresses this announcer answers for now, sorted.
func (a *Announcer) Answering() []netip.Addr {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]netip.Addr, 0, len(a.active))
	for ad := range a.active {
		out = append(out, ad)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Interfaces returns the names of the interfaces the announcer answers on
// now, sorted.
func (a *Announcer) Interfaces() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.links))
	for _, l := range a.links {
		out = append(out, l.name)
	}
	slices.Sort(out)
	return out
}

// Close stops answering for everything, closes every connection and waits
// for the announcer's goroutines. Calling it again returns nil.
func (a *Announcer) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	links := a.links
	a.links = map[int]*link{}
	clear(a.active)
	a.mu.Unlock()

	a.cancel()
	var errs []error
	for _, l := range links {
		errs = append(errs, l.close())
	}
	a.wg.Wait()
	return errors.Join(errs...)
}
