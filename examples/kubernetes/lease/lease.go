// Package lease is an L2 election over Kubernetes Leases
// (coordination.k8s.io/v1), for clusters that forbid the gossip port of
// package l2/gossip: every agent keeps one Lease for its node as a
// heartbeat, and every node elects, for each service, the rendezvous winner
// (l2.Rendezvous) among the nodes whose Lease is live. There is no Lease per
// service and no write per election: the API server sees one update per node
// every Renew.
//
//	e, err := lease.New(ctx, lease.Config{Client: c, Namespace: "lbkit-system", Node: node})
//	ann, err := l2.New(ctx, l2.Config{Elector: e.Elector()})
//	defer e.Close() // deletes the node's Lease: the others take over within Renew
//
// # Timing
//
// A node renews its Lease every Renew and reads all Leases at the same
// time. It counts a Lease live while it has seen the Lease renewed within
// the Lease's own leaseDurationSeconds, timed on its own clock (so clocks
// need not agree). After a crash the other nodes take over between Duration
// and Duration+Renew later: 3 to 4 s with the defaults (DefaultDuration 3 s,
// DefaultRenew 1 s). A graceful Close deletes the Lease, seen within Renew.
// Shorter times cost API server writes: one per node per Renew.
//
// # Concurrency
//
// An Elector is safe for concurrent use. It runs one goroutine, until Close.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/l2"
)

// Defaults for Config.
const (
	DefaultDuration = 3 * time.Second
	DefaultRenew    = time.Second
)

// LabelElection labels the election's Leases; its value is Config.Name.
const LabelElection = "lbkit.io/election"

// ErrInvalidConfig reports a Config that cannot be used.
var ErrInvalidConfig = errors.New("lease: invalid config")

// Config configures an Elector.
type Config struct {
	// Client reaches the API server; it needs get, list, create, update
	// and delete on Leases in Namespace. Use a client without a cache.
	Client client.Client
	// Namespace holds the Leases. Required.
	Namespace string
	// Node is this node's name. Required.
	Node string
	// Name names the election (the Leases are "<Name>-<Node>"); empty is
	// "lbkit-agent".
	Name string
	// Duration is how long a Lease lives without renewal; zero is
	// DefaultDuration. It is written in whole seconds.
	Duration time.Duration
	// Renew is how often the node renews its Lease and reads the others;
	// zero is DefaultRenew. It must be shorter than Duration.
	Renew time.Duration
	// Logger receives the elector's logs; nil discards them.
	Logger *slog.Logger
}

// An Elector is this node's part in a Lease election. Create it with New;
// it runs until Close.
type Elector struct {
	cfg Config
	r   *l2.Rendezvous
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]observed // by node

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// observed is what this node last saw of a Lease, and when.
type observed struct {
	version string
	at      time.Time // local time the version was first seen
	dur     time.Duration
}

// New creates or renews this node's Lease, reads the others, and keeps
// doing so every Renew until Close. ctx bounds the start only.
func New(ctx context.Context, cfg Config) (*Elector, error) {
	if cfg.Client == nil || cfg.Namespace == "" || cfg.Node == "" {
		return nil, fmt.Errorf("%w: Client, Namespace and Node are required", ErrInvalidConfig)
	}
	if cfg.Name == "" {
		cfg.Name = "lbkit-agent"
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Renew == 0 {
		cfg.Renew = DefaultRenew
	}
	if cfg.Duration < time.Second || cfg.Renew <= 0 || cfg.Renew >= cfg.Duration {
		return nil, fmt.Errorf("%w: want Duration ≥ 1s and 0 < Renew < Duration, have %v and %v", ErrInvalidConfig, cfg.Duration, cfg.Renew)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Elector{cfg: cfg, r: l2.NewRendezvous(cfg.Node), log: log, seen: map[string]observed{}, done: make(chan struct{})}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go e.loop(runCtx)
	return e, nil
}

// Elector returns the elector to give the L2 announcers.
func (e *Elector) Elector() l2.Elector { return e.r }

// SetCandidates restricts key to nodes (see l2.Rendezvous.SetCandidates).
func (e *Elector) SetCandidates(key string, nodes ...string) { e.r.SetCandidates(key, nodes...) }

// ClearCandidates lets every live node lead key again.
func (e *Elector) ClearCandidates(key string) { e.r.ClearCandidates(key) }

// Leader returns the node leading key as this node sees it.
func (e *Elector) Leader(key string) (string, bool) { return e.r.Leader(key) }

// Members returns the nodes with a live Lease, sorted.
func (e *Elector) Members() []string { return e.r.Members() }

// Close stops renewing and deletes this node's Lease, so that the other
// nodes take over within their Renew. Calling it again returns nil.
func (e *Elector) Close() error {
	var err error
	e.once.Do(func() {
		e.cancel()
		<-e.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.leaseName()}}
		if err = e.cfg.Client.Delete(ctx, l); apierrors.IsNotFound(err) {
			err = nil
		}
		e.r.SetMembers()
	})
	return err
}

func (e *Elector) leaseName() string { return e.cfg.Name + "-" + e.cfg.Node }

func (e *Elector) loop(ctx context.Context) {
	defer close(e.done)
	t := time.NewTicker(e.cfg.Renew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tctx, cancel := context.WithTimeout(ctx, e.cfg.Duration)
			if err := e.tick(tctx); err != nil && ctx.Err() == nil {
				e.log.Warn("lease election", "err", err)
			}
			cancel()
		}
	}
}

// tick renews this node's Lease and recomputes the live members.
func (e *Elector) tick(ctx context.Context) error {
	renewErr := e.renew(ctx)
	var list coordinationv1.LeaseList
	if err := e.cfg.Client.List(ctx, &list, client.InNamespace(e.cfg.Namespace),
		client.MatchingLabels{LabelElection: e.cfg.Name}); err != nil {
		return errors.Join(renewErr, err)
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	next := map[string]observed{}
	var live []string
	for _, l := range list.Items {
		if l.Spec.HolderIdentity == nil || l.Spec.LeaseDurationSeconds == nil {
			continue
		}
		node := *l.Spec.HolderIdentity
		dur := time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
		o, ok := e.seen[node]
		if !ok || o.version != l.ResourceVersion {
			o = observed{version: l.ResourceVersion, at: now, dur: dur}
			if !ok && l.Spec.RenewTime != nil && now.Sub(l.Spec.RenewTime.Time) > dur {
				o.at = l.Spec.RenewTime.Time // first seen and already stale by its own clock
			}
		}
		next[node] = o
		if now.Sub(o.at) < o.dur {
			live = append(live, node)
		}
	}
	e.seen = next
	e.r.SetMembers(live...)
	return renewErr
}

// renew creates or updates this node's Lease.
func (e *Elector) renew(ctx context.Context) error {
	now := metav1.NewMicroTime(time.Now())
	secs := int32(e.cfg.Duration / time.Second)
	key := client.ObjectKey{Namespace: e.cfg.Namespace, Name: e.leaseName()}
	var l coordinationv1.Lease
	err := e.cfg.Client.Get(ctx, key, &l)
	if apierrors.IsNotFound(err) {
		l = coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
			Labels: map[string]string{LabelElection: e.cfg.Name}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &e.cfg.Node, LeaseDurationSeconds: &secs,
				AcquireTime: &now, RenewTime: &now}}
		return e.cfg.Client.Create(ctx, &l)
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity = &e.cfg.Node
	l.Spec.LeaseDurationSeconds = &secs
	l.Spec.RenewTime = &now
	return e.cfg.Client.Update(ctx, &l)
}
