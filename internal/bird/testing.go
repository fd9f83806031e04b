package bird

import (
	"context"
	"time"

	"github.com/lbkit/lbkit/internal/netns"
)

// RequireT skips t, with the reason, unless BIRD and namespaces are usable.
func RequireT(t netns.TB) {
	t.Helper()
	netns.RequireT(t)
	if err := Available(); err != nil {
		t.Skipf("BIRD test skipped: %v", err)
	}
}

// StartT starts a router for a test (skipping it when BIRD is unavailable)
// and closes it in t.Cleanup; on failure the router's log is shown.
func StartT(t netns.TB, ns *netns.NS, cfg Config) *Router {
	t.Helper()
	RequireT(t)
	r, err := Start(ns, cfg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// WaitEstablishedT is WaitEstablished with a 30 s limit that fails t.
func (r *Router) WaitEstablishedT(t netns.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitEstablished(ctx, name); err != nil {
		t.Fatalf("%s never established: %v", name, err)
	}
}

// WaitRoutesT is WaitRoutes with a 30 s limit that fails t.
func (r *Router) WaitRoutesT(t netns.TB, what string, cond func([]Route) bool) []Route {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs, err := r.WaitRoutes(ctx, cond)
	if err != nil {
		t.Fatalf("BIRD never had %s: %v", what, err)
	}
	return rs
}
