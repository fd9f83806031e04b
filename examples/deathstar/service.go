package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// The reference service.
const (
	serviceNamespace = "batuu"
	serviceName      = "deathstar"
	serviceKey       = serviceNamespace + "/" + serviceName
)

// errStory reports a step that did not behave as the story says.
var errStory = errors.New("the story did not go as told")

// A guide prints the story as a lab guide would.
type guide struct {
	w     io.Writer
	n     int
	quiet bool // print no step headers: the lab's node, whose parent prints them
}

func (g *guide) step(format string, args ...any) {
	g.n++
	if g.quiet {
		return
	}
	fmt.Fprintf(g.w, "\nStep %d: %s\n", g.n, fmt.Sprintf(format, args...))
}

func (g *guide) say(format string, args ...any) {
	fmt.Fprintf(g.w, "   %s\n", fmt.Sprintf(format, args...))
}

func (g *guide) ok(format string, args ...any) {
	fmt.Fprintf(g.w, "   ok: %s\n", fmt.Sprintf(format, args...))
}

// indent prints a multi-line text (such as an HTTP body) indented; JSON is
// pretty-printed.
func (g *guide) indent(text string) {
	var b bytes.Buffer
	if json.Indent(&b, []byte(text), "", "  ") == nil {
		text = b.String()
	}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(g.w, "      | %s\n", l)
	}
}

// failf returns an error for a step that went wrong.
func (g *guide) failf(format string, args ...any) error {
	return fmt.Errorf("step %d: %w: %s", g.n, errStory, fmt.Sprintf(format, args...))
}

// The steps' titles, shared by both modes.

func poolTitle(cfg Config) string {
	return fmt.Sprintf("a pool %s (%s) selecting %s", cfg.Pool.Name, rangesString(cfg.Pool.Ranges), cfg.Pool.ServiceSelector)
}

func assignTitle() string {
	return fmt.Sprintf("service %s (labels org=empire, TCP 80) gets one IPv4 and one IPv6 address", serviceKey)
}

func bgpTitle(cfg Config) string {
	return fmt.Sprintf("a BGP speaker on the node, peered with a router, wrapped in announce.Select(%s): the client cannot reach the service", cfg.BGP.Selector)
}

func labelTitle() string { return "the service is labelled announced=bgp: now the client can reach it" }

func l2Title(v4 netip.Addr) string {
	return fmt.Sprintf("the host on the node's L2 segment (not a BGP peer) reaches %v only once an L2 announcer is added", v4)
}

func shutdownTitle() string { return "clean shutdown: routes withdrawn, the router's table empty" }

// explainPool prints steps 1's pool and sets it in m.
func explainPool(g *guide, m *ipam.Manager, cfg Config) error {
	g.step("%s", poolTitle(cfg))
	g.say("%s/%s → ipam.Pool{Name: %q, Ranges: [%s], ServiceSelector: %q}", "manifests", poolFile,
		cfg.Pool.Name, rangesString(cfg.Pool.Ranges), cfg.Pool.ServiceSelector)
	if err := m.SetPool(cfg.Pool); err != nil {
		return g.failf("SetPool: %v", err)
	}
	for _, st := range m.Pools() {
		if st.Name == cfg.Pool.Name {
			g.ok("ipam.Manager.SetPool(%s): %v IPv4 and %v IPv6 addresses free", st.Name, st.Free(ipam.IPv4), st.Free(ipam.IPv6))
			return nil
		}
	}
	return g.failf("pool %s missing from Manager.Pools", cfg.Pool.Name)
}

func rangesString(rs []ipam.Range) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// assignService runs step 2: the service gets one address of each family.
func assignService(g *guide, m *ipam.Manager) (announce.Service, error) {
	labels := selector.Set{"org": "empire"}
	g.step("%s", assignTitle())
	a, err := m.Assign(ipam.Request{
		Key:    serviceKey,
		Labels: labels,
		Ports:  []ipam.Port{{Protocol: ipam.TCP, Port: 80}},
	})
	if err != nil {
		return announce.Service{}, g.failf("Assign: %v", err)
	}
	svc := announce.Service{Key: serviceKey, Labels: labels, Addrs: a.Addrs}
	v4, v6 := families(svc.Addrs)
	if len(svc.Addrs) != 2 || !v4.IsValid() || !v6.IsValid() {
		return announce.Service{}, g.failf("got %v from pool %s, want one IPv4 and one IPv6", a.Addrs, a.Pool)
	}
	g.ok("ipam.Manager.Assign → pool %s, %v and %v", a.Pool, v4, v6)
	return svc, nil
}

// families returns the first IPv4 and the first IPv6 address of addrs.
func families(addrs []netip.Addr) (v4, v6 netip.Addr) {
	for _, a := range addrs {
		switch {
		case a.Is4() && !v4.IsValid():
			v4 = a
		case a.Is6() && !v6.IsValid():
			v6 = a
		}
	}
	return v4, v6
}

func labelString(l selector.Set) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		kv = append(kv, k+"="+l[k])
	}
	return strings.Join(kv, ",")
}

// serviceURL is the URL of the API on addr.
func serviceURL(addr netip.Addr) string {
	if addr.Is6() {
		return "http://[" + addr.String() + "]/v1/"
	}
	return "http://" + addr.String() + "/v1/"
}

// A fetcher gets a URL as one of the story's clients does, and returns the
// body, or what went wrong.
type fetcher func(ctx context.Context, url string) (string, error)

// expectUnreachable checks that who cannot get url, before what is missing.
func expectUnreachable(ctx context.Context, g *guide, who, url, missing string, get fetcher) error {
	body, err := get(ctx, url)
	if ctx.Err() != nil { // interrupted: neither reachable nor unreachable
		return ctx.Err()
	}
	if err == nil {
		return g.failf("%s reached %s before %s: %s", who, url, missing, body)
	}
	g.ok("%s: curl %s → %s", who, url, firstLine(err.Error()))
	return nil
}

// expectReachable checks that who gets the Death Star's API at url, and
// shows the body.
func expectReachable(ctx context.Context, g *guide, who, url string, get fetcher) error {
	body, err := get(ctx, url)
	if err == nil {
		err = checkBody(http.StatusOK, []byte(body))
	}
	if err != nil {
		return g.failf("%s: curl %s: %v: %s", who, url, err, body)
	}
	g.ok("%s: curl %s →", who, url)
	g.indent(body)
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// dialFunc is how a client reaches an address: through the network it sits on.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// via returns a fetcher that connects with dial.
func via(dial dialFunc) fetcher {
	return func(ctx context.Context, url string) (string, error) { return fetch(ctx, dial, url) }
}

// fetch gets url with dial, checks that the answer is the Death Star's API
// and returns the body.
func fetch(ctx context.Context, dial dialFunc, url string) (string, error) {
	c := &http.Client{
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
		Timeout:   5 * time.Second,
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", unwrapURL(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	return string(body), checkBody(resp.StatusCode, body)
}

// checkBody reports whether an API answer is the Death Star's.
func checkBody(status int, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d", status)
	}
	var s Station
	if err := json.Unmarshal(body, &s); err != nil {
		return fmt.Errorf("body is not the API's JSON: %w", err)
	}
	if s != deathStar {
		return fmt.Errorf("body is %+v, not the Death Star", s)
	}
	return nil
}
