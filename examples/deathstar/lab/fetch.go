package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

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

// expectUnreachable checks that who cannot get the API on addr, before
// what is missing.
func expectUnreachable(ctx context.Context, g *Guide, who string, addr netip.Addr, missing string, get fetcher) error {
	url := serviceURL(addr)
	body, err := get(ctx, url)
	if ctx.Err() != nil { // interrupted: neither reachable nor unreachable
		return ctx.Err()
	}
	if err == nil {
		return g.Fail("%s reached %s before %s: %s", who, url, missing, body)
	}
	g.OK("%s: curl %s → %s", who, url, firstLine(err.Error()))
	return nil
}

// expectReachable checks that who gets the Death Star's API on addr, and
// shows the body.
func expectReachable(ctx context.Context, g *Guide, who string, addr netip.Addr, get fetcher) error {
	url := serviceURL(addr)
	body, err := get(ctx, url)
	if err == nil {
		err = checkBody(http.StatusOK, []byte(body))
	}
	if err != nil {
		return g.Fail("%s: curl %s: %v: %s", who, url, err, body)
	}
	g.OK("%s: curl %s →", who, url)
	g.Indent(body)
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

// unwrapURL drops net/http's "Get <url>:" prefix from an error.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// waitFor polls cond until it holds, ctx ends or timeout passes; the error
// carries cond's last explanation.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ctx.Err(), strings.TrimSpace(why))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
