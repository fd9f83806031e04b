package netns

import (
	"bufio"
	"slices"
	"strings"
	"sync"
	"time"
)

// A NeighMonitor follows `ip monitor neigh` in a namespace, recording for
// each address the latest MAC of its neighbour entry and when the entry
// first showed that MAC. Its methods are safe for concurrent use.
type NeighMonitor struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every update
	mac     map[string]string
	at      map[string]time.Time
}

// MonitorNeigh starts following the namespace's neighbour table until
// t's cleanup.
func (ns *NS) MonitorNeigh(t TB) *NeighMonitor {
	t.Helper()
	m := &NeighMonitor{changed: make(chan struct{}), mac: map[string]string{}, at: map[string]time.Time{}}
	cmd := ns.Command("ip", "monitor", "neigh")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	if err := ns.Start(cmd); err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() { ns.Stop(cmd) })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m.record(strings.Fields(sc.Text()), time.Now())
		}
	}()
	return m
}

// record notes a line "ADDR dev DEV lladdr MAC STATE".
func (m *NeighMonitor) record(f []string, at time.Time) {
	i := slices.Index(f, "lladdr")
	if i < 1 || i+1 >= len(f) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mac[f[0]] != f[i+1] {
		m.mac[f[0]], m.at[f[0]] = f[i+1], at
		close(m.changed)
		m.changed = make(chan struct{})
	}
}

// Wait returns when addr's entry was first seen at mac, waiting for it up
// to timeout (then it fails t).
func (m *NeighMonitor) Wait(t TB, addr, mac string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.After(timeout)
	for {
		m.mu.Lock()
		got, at, ch := m.mac[addr], m.at[addr], m.changed
		m.mu.Unlock()
		if got == mac {
			return at
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("netns: neighbour entry for %s is %q, want %s", addr, got, mac)
		}
	}
}
