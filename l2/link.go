package l2

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
)

// A link is one interface in use: its connection and the solicited-node
// groups joined on it. Fields other than groups are immutable; groups is
// guarded by the announcer's mutex.
type link struct {
	name   string
	index  int
	mac    net.HardwareAddr
	conn   net.PacketConn
	joiner GroupJoiner // nil when conn cannot join groups

	up    bool       // as of the last scan; guarded by the announcer's mutex
	stats *linkStats // shared with the announcer's stats map

	groups map[netip.Addr]int // solicited-node group -> owned addresses in it

	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed by close
}

// addLinkLocked starts answering on ifi through conn, joining the groups of
// and announcing every active address.
func (a *Announcer) addLinkLocked(ifi *net.Interface, conn net.PacketConn) {
	l := &link{
		up:     operUp(ifi) || !a.discover,
		name:   ifi.Name,
		index:  ifi.Index,
		mac:    append(net.HardwareAddr(nil), ifi.HardwareAddr...),
		conn:   conn,
		groups: map[netip.Addr]int{},
		done:   make(chan struct{}),
	}
	l.joiner, _ = conn.(GroupJoiner)
	if a.stats[l.name] == nil {
		a.stats[l.name] = &linkStats{}
	}
	l.stats = a.stats[l.name]
	a.links[l.index] = l
	claims := a.activeClaimsLocked()
	for _, c := range claims {
		l.join(c.addr, a.log)
	}
	a.wg.Add(1)
	go a.receive(l)
	if l.up {
		a.burstLocked(claims, l)
	}
	a.log.Info("l2: answering on interface", "interface", l.name, "mac", l.mac.String())
}

// removeLinkLocked stops using l.
func (a *Announcer) removeLinkLocked(l *link, why string) {
	if a.links[l.index] == l {
		delete(a.links, l.index)
	}
	_ = l.close()
	a.log.Info("l2: stopped answering on interface", "interface", l.name, "reason", why)
}

func (l *link) close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.closeErr = l.conn.Close()
	})
	return l.closeErr
}

func (l *link) join(addr netip.Addr, log *slog.Logger) {
	g, ok := solicitedNode(addr)
	if !ok {
		return
	}
	l.groups[g]++
	if l.groups[g] == 1 && l.joiner != nil {
		if err := l.joiner.JoinGroup(g); err != nil {
			log.Warn("l2: cannot join solicited-node group", "interface", l.name, "group", g, "err", err)
		}
	}
}

func (l *link) leave(addr netip.Addr, log *slog.Logger) {
	g, ok := solicitedNode(addr)
	if !ok || l.groups[g] == 0 {
		return
	}
	l.groups[g]--
	if l.groups[g] > 0 {
		return
	}
	delete(l.groups, g)
	if l.joiner != nil {
		if err := l.joiner.LeaveGroup(g); err != nil {
			log.Warn("l2: cannot leave solicited-node group", "interface", l.name, "group", g, "err", err)
		}
	}
}

func solicitedNode(addr netip.Addr) (netip.Addr, bool) {
	if !addr.Is6() {
		return netip.Addr{}, false
	}
	g, err := ndp.SolicitedNodeMulticast(addr)
	return g, err == nil
}

func (l *link) write(frame []byte) error {
	_, err := l.conn.WriteTo(frame, &packet.Addr{HardwareAddr: net.HardwareAddr(frame[0:6])})
	return err
}

// receive reads frames from l until it is closed or fails.
func (a *Announcer) receive(l *link) {
	defer a.wg.Done()
	buf := make([]byte, maxFrame)
	for {
		n, _, err := l.conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isLinkDown(err) {
				continue // the socket works again once the link is up
			}
			a.mu.Lock()
			a.removeLinkLocked(l, err.Error())
			a.mu.Unlock()
			a.reportReady()
			return
		}
		a.handle(l, buf[:n])
	}
}

// handle answers frame if it asks for an address this node answers for.
// The read lock is held while the reply is written, so that Withdraw
// returns only after in-flight replies.
func (a *Announcer) handle(l *link, frame []byte) {
	q, ok := parseQuery(frame, l.mac)
	if !ok {
		return
	}
	c := l.stats.of(q.target.Is4())
	if !q.claim {
		c.requests.Add(1)
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if _, owned := a.active[q.target]; !owned {
		return
	}
	if q.claim {
		a.conflict(l, q)
		return
	}
	reply, err := q.reply(l.mac)
	if err == nil {
		err = l.write(reply)
	}
	if err != nil {
		a.log.Warn("l2: cannot reply", "interface", l.name, "addr", q.target, "err", err)
		return
	}
	c.replies.Add(1)
	if a.log.Enabled(a.ctx, slog.LevelDebug) {
		a.log.Debug("l2: replied", "interface", l.name, "addr", q.target, "to", q.ethSrc.String())
	}
}

// activeClaimsLocked returns the claims of every address answered now.
func (a *Announcer) activeClaimsLocked() []*claim {
	claims := make([]*claim, 0, len(a.active))
	for _, c := range a.active {
		claims = append(claims, c)
	}
	return claims
}

// burstLocked starts sending the gratuitous frames of claims, on only or,
// when only is nil, on every link.
func (a *Announcer) burstLocked(claims []*claim, only *link) {
	if len(claims) == 0 || a.grat.Count <= 0 || a.closed {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTimer(0)
		defer t.Stop()
		for i := range a.grat.Count {
			if i > 0 {
				t.Reset(a.grat.Interval)
			}
			select {
			case <-a.ctx.Done():
				return
			case <-t.C:
			}
			if !a.announce(claims, only) {
				return
			}
		}
	}()
}

// announce sends one gratuitous frame per live claim and link, and reports
// whether any claim is still live.
func (a *Announcer) announce(claims []*claim, only *link) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	live := false
	for _, c := range claims {
		if a.active[c.addr] != c {
			continue
		}
		live = true
		for _, l := range a.links {
			if (only != nil && l != only) || !l.up {
				continue
			}
			f, err := announcement(l.mac, c.addr)
			if err == nil {
				err = l.write(f)
			}
			if err != nil {
				a.log.Warn("l2: cannot announce", "interface", l.name, "addr", c.addr, "err", err)
				continue
			}
			l.stats.of(c.addr.Is4()).gratuitous.Add(1)
		}
	}
	return live
}

// conflictLogEvery limits conflict warnings to one per address and period.
const conflictLogEvery = 10 * time.Second

// conflict warns, at most once per address every conflictLogEvery, that
// another host announces an address this node answers for: another
// announcer that believes it leads, or a kernel holding the address
// without arp_ignore/arp_announce.
func (a *Announcer) conflict(l *link, q query) {
	now := time.Now()
	a.conflictMu.Lock()
	last, seen := a.conflicts[q.target]
	if seen && now.Sub(last) < conflictLogEvery {
		a.conflictMu.Unlock()
		return
	}
	a.conflicts[q.target] = now
	a.conflictMu.Unlock()
	a.log.Warn("l2: another host announces an address this node answers for",
		"interface", l.name, "addr", q.target, "mac", q.ethSrc.String())
}
