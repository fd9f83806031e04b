package l2

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"time"
)

// A matcher selects interfaces by exact name or anchored regular expression.
type matcher struct {
	names map[string]bool
	res   []*regexp.Regexp
}

func compileMatcher(patterns []string) (matcher, error) {
	m := matcher{names: map[string]bool{}}
	for _, p := range patterns {
		if p == "" {
			return matcher{}, fmt.Errorf("%w: empty interface pattern", ErrInvalidConfig)
		}
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			return matcher{}, fmt.Errorf("%w: interface pattern %q: %v", ErrInvalidConfig, p, err)
		}
		m.names[p] = true
		m.res = append(m.res, re)
	}
	return m, nil
}

// matches reports whether ifi is selected. Named interfaces always are;
// others must be up, not loopback, and match a pattern (or there are none).
func (m matcher) matches(ifi net.Interface) bool {
	if len(ifi.HardwareAddr) != 6 {
		return false
	}
	if m.names[ifi.Name] {
		return true
	}
	if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 {
		return false
	}
	if len(m.res) == 0 {
		return true
	}
	for _, re := range m.res {
		if re.MatchString(ifi.Name) {
			return true
		}
	}
	return false
}

// operUp reports whether ifi is up and has a carrier: frames sent on it
// reach the segment.
func operUp(ifi *net.Interface) bool {
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0
}

// watchInterfaces rescans on every link event and every a.rescan.
func (a *Announcer) watchInterfaces() {
	defer a.wg.Done()
	kick := make(chan struct{}, 1)
	if ev, err := linkEvents(); err != nil {
		a.log.Warn("l2: no interface events; relying on periodic rescans", "err", err)
	} else {
		a.wg.Add(1)
		go a.readLinkEvents(ev, kick)
	}
	var tick <-chan time.Time
	if a.rescan > 0 {
		t := time.NewTicker(a.rescan)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-tick:
		case <-kick:
		}
		a.scan()
		a.reportReady()
	}
}

// readLinkEvents signals kick after each batch of link events, and after
// events were lost, until the announcer stops or the socket fails. It
// closes ev.
func (a *Announcer) readLinkEvents(ev io.ReadCloser, kick chan<- struct{}) {
	defer a.wg.Done()
	defer ev.Close()
	stop := context.AfterFunc(a.ctx, func() { _ = ev.Close() })
	defer stop()
	buf := make([]byte, 1<<16)
	for {
		if _, err := ev.Read(buf); err != nil && !eventsLost(err) {
			if a.ctx.Err() == nil {
				a.log.Warn("l2: interface events stopped; relying on periodic rescans", "err", err)
			}
			return
		}
		select {
		case kick <- struct{}{}:
		default: // a scan is already due
		}
	}
}

// scan brings the links in line with the system's interfaces.
func (a *Announcer) scan() {
	ifs, err := net.Interfaces()
	if err != nil {
		a.log.Warn("l2: cannot list interfaces", "err", err)
		return
	}
	want := map[int]net.Interface{}
	for _, ifi := range ifs {
		if a.match.matches(ifi) {
			want[ifi.Index] = ifi
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	for idx, l := range a.links {
		if w, ok := want[idx]; !ok || w.Name != l.name || !bytes.Equal(w.HardwareAddr, l.mac) {
			a.removeLinkLocked(l, "interface gone, down or changed")
		}
	}
	for idx, ifi := range want {
		if l, ok := a.links[idx]; ok {
			up := operUp(&ifi)
			if up && !l.up { // a named interface came back: tell the neighbours
				a.burstLocked(a.activeClaimsLocked(), l)
			}
			l.up = up
			continue
		}
		conn, err := listen(&ifi)
		if err != nil {
			if !a.failed[ifi.Name] {
				a.log.Warn("l2: cannot open interface", "interface", ifi.Name, "err", err)
				a.failed[ifi.Name] = true
			}
			continue
		}
		delete(a.failed, ifi.Name)
		a.addLinkLocked(&ifi, conn)
	}
}
