package gossip

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lbkit/lbkit/l2"
)

// A Member is a node of the cluster as this node sees it.
type Member struct {
	Name  string
	Addr  netip.AddrPort // where it gossips
	Ready bool           // its announcer has an interface up: it may lead
}

// A Cluster is this node's membership in a gossip cluster and the elector
// built on it. Create it with New; it runs until Close.
type Cluster struct {
	name   string
	log    *slog.Logger
	timing Timing
	join   []string
	ml     *memberlist.Memberlist
	rv     *l2.Rendezvous // over the ready members

	mu      sync.Mutex
	members map[string]Member // alive or suspect, by name
	ready   bool              // this node's readiness
	refresh uint64            // bumped when another node joins
	changed chan struct{}
	closed  bool

	kick     chan struct{}  // readiness changed: gossip it
	stop     chan struct{}  // closed by Close
	readyWG  sync.WaitGroup // gossipReady: done before leaving, or it would re-advertise this node
	rejoinWG sync.WaitGroup // rejoin: may wait for a dial; done after leaving
}

// New starts this node's membership: it listens on cfg.Bind and joins
// cfg.Join in the background, retrying while no peer answers. ctx bounds
// the start only; the Cluster runs until Close.
func New(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t, err := cfg.Timing.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Name, err = defaultName(cfg.Name); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var logOut io.Writer = io.Discard
	if cfg.Logger != nil {
		logOut = slogWriter{log.With("component", "memberlist")}
	}
	mc, err := memberlistConfig(cfg, t, logOut)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		name:    cfg.Name,
		log:     log,
		timing:  t,
		join:    slices.Clone(cfg.Join),
		rv:      l2.NewRendezvous(cfg.Name),
		members: map[string]Member{},
		ready:   true,
		changed: make(chan struct{}),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
	}
	mc.Delegate = delegate{c}
	mc.Events = events{c}
	if c.ml, err = memberlist.Create(mc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	c.readyWG.Add(1)
	c.rejoinWG.Add(1)
	go c.rejoin()
	go c.gossipReady()
	return c, nil
}

// Name returns this node's name.
func (c *Cluster) Name() string { return c.name }

// Addr returns the address and port this node gossips on.
func (c *Cluster) Addr() netip.AddrPort {
	n := c.ml.LocalNode()
	return nodeAddr(n)
}

func nodeAddr(n *memberlist.Node) netip.AddrPort {
	a, _ := netip.AddrFromSlice(n.Addr)
	return netip.AddrPortFrom(a.Unmap(), n.Port)
}

// Members returns the members this node sees alive (including suspects
// not yet declared dead), sorted by name.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Changes returns a channel that is closed at the next change of
// membership, readiness or candidates; call it again afterwards.
func (c *Cluster) Changes() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// Leader returns the node that leads key now, as this node sees it, and
// false when no live candidate is ready.
func (c *Cluster) Leader(key string) (string, bool) { return c.rv.Leader(key) }

// SetCandidates restricts key to the nodes named in candidates, replacing
// any earlier set: the leader is the rendezvous winner among the live,
// ready candidates, and nobody leads key when there is none. Every node
// must be given the same set. Use it for services with
// externalTrafficPolicy Local (the nodes with a ready endpoint).
func (c *Cluster) SetCandidates(key string, candidates ...string) {
	c.rv.SetCandidates(key, candidates...)
	c.notify()
}

// ClearCandidates lets every ready member lead key again.
func (c *Cluster) ClearCandidates(key string) {
	c.rv.ClearCandidates(key)
	c.notify()
}

// Elector returns the elector to give the announcer (l2.Config.Elector).
// It also implements l2.ReadyElector, so that the announcer takes this
// node out of the elections while none of its interfaces is up, and
// l2.Refresher, so that leaders announce again when a node joins.
func (c *Cluster) Elector() l2.Elector { return elector{c} }

// SetReady sets whether this node may lead (the announcer calls it through
// the Elector); the change reaches the other members with the next gossip.
func (c *Cluster) SetReady(ready bool) {
	c.mu.Lock()
	if c.ready == ready || c.closed {
		c.mu.Unlock()
		return
	}
	c.ready = ready
	if m, ok := c.members[c.name]; ok {
		m.Ready = ready
		c.members[c.name] = m
	}
	c.updateLocked()
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default: // a gossip round is pending; it reads the latest state
	}
}

// Close leaves the cluster, telling the other members so that they take
// over this node's services at once, and stops. Calling it again returns
// nil.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	delete(c.members, c.name) // this node stops leading at once
	c.updateLocked()
	c.mu.Unlock()
	close(c.stop)
	c.readyWG.Wait()
	err := c.ml.Leave(time.Second)
	if err != nil {
		c.log.Warn("gossip: leaving the cluster", "err", err)
	}
	c.rejoinWG.Wait()
	if err := c.ml.Shutdown(); err != nil {
		return err
	}
	c.mu.Lock()
	clear(c.members)
	c.updateLocked()
	c.mu.Unlock()
	return nil
}

// notify wakes those waiting on Changes.
func (c *Cluster) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notifyLocked()
}

func (c *Cluster) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// updateLocked gives the elector the ready members and wakes waiters.
func (c *Cluster) updateLocked() {
	ready := make([]string, 0, len(c.members))
	for _, m := range c.members {
		if m.Ready {
			ready = append(ready, m.Name)
		}
	}
	c.rv.SetMembers(ready...)
	c.notifyLocked()
}

// rejoin joins the peers of Config.Join that are not members, now and
// every RejoinInterval.
func (c *Cluster) rejoin() {
	defer c.rejoinWG.Done()
	if len(c.join) == 0 {
		return
	}
	t := time.NewTicker(c.timing.RejoinInterval)
	defer t.Stop()
	for {
		if missing := c.missingPeers(); len(missing) > 0 {
			if n, err := c.ml.Join(missing); err != nil {
				c.log.Debug("gossip: cannot join peers", "peers", missing, "err", err)
			} else {
				c.log.Debug("gossip: joined peers", "peers", missing, "reached", n)
			}
		}
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
	}
}

// missingPeers returns the peers of Config.Join that are not members:
// those given as addresses that no member has, and every one given as a
// host name.
func (c *Cluster) missingPeers() []string {
	c.mu.Lock()
	have := map[netip.AddrPort]bool{}
	for _, m := range c.members {
		have[m.Addr] = true
	}
	c.mu.Unlock()
	var out []string
	for _, p := range c.join {
		if ap, err := netip.ParseAddrPort(p); err == nil && have[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// gossipReady re-advertises this node when its readiness changes.
func (c *Cluster) gossipReady() {
	defer c.readyWG.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		// Waits until the update is sent to a member, or the timeout.
		if err := c.ml.UpdateNode(10 * c.timing.GossipInterval); err != nil {
			c.log.Debug("gossip: readiness update not yet sent", "err", err)
		}
	}
}

// elector is the l2.Elector view of a Cluster.
type elector struct{ c *Cluster }

var (
	_ l2.ReadyElector = elector{}
	_ l2.Refresher    = elector{}
)

func (e elector) Leads(key string) bool    { return e.c.rv.Leads(key) }
func (e elector) Changes() <-chan struct{} { return e.c.Changes() }
func (e elector) SetReady(ready bool)      { e.c.SetReady(ready) }
func (e elector) Refresh() uint64 {
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	return e.c.refresh
}
