package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/l2"
)

// Name is the agent's name in events and as its field manager.
const Name = "lbkit-agent"

// EventNoReadyEndpoints is the reason of the event a service with
// externalTrafficPolicy Local and no ready endpoint gets: nobody announces it.
const EventNoReadyEndpoints = "NoReadyEndpoints"

// Resync is how often the agent reconciles without a change in the API, to
// pick up interfaces that appeared and Secrets that changed.
const Resync = 30 * time.Second

// ErrInvalidConfig reports a Config that cannot be used.
var ErrInvalidConfig = errors.New("agent: invalid config")

// Config configures an Agent.
type Config struct {
	// NodeName is the name of the node the agent runs on (from the
	// downward API's spec.nodeName). Required.
	NodeName string
	// Class is the spec.loadBalancerClass served besides services without
	// a class, as the controller's; empty serves only those.
	Class string
	// SecretNamespace is the namespace of the Secrets neighbors'
	// authSecretRef name (the agent's own).
	SecretNamespace string
	// RouterID is the BGP identifier of the node's speakers; the zero
	// value uses the node's first IPv4 InternalIP.
	RouterID netip.Addr
	// Election elects the node answering for each service on L2; the
	// agent owns it and closes it (if it is an io.Closer) when it stops.
	// Nil is Single(NodeName).
	Election Election
	// NewL2 starts an L2 announcer; nil is l2.New (which needs
	// CAP_NET_RAW). Tests give l2.NewWithLinks.
	NewL2 func(ctx context.Context, cfg l2.Config) (*l2.Announcer, error)
	// Gratuitous configures the L2 announcers' gratuitous frames.
	Gratuitous l2.Gratuitous
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
}

// An Agent announces, on one node, the services the policies that select
// the node select. Create it with Setup.
type Agent struct {
	cfg    Config
	c      client.Client
	api    client.Reader
	events events.EventRecorder
	log    *slog.Logger

	mu          sync.Mutex // guards the fields below; held by each reconciliation
	closed      bool
	routerID    netip.Addr
	speakers    map[string]*speaker   // by policy/asn
	l2s         map[string]*announcer // by policy
	cands       map[string][]string   // candidates set on the election, by service key
	noEndpoints map[string]bool       // services reported as having no ready endpoint
	leaders     map[string]string     // last leader seen per L2 service
	changes     uint64                // leadership changes seen
}

// Setup adds an agent to mgr: a controller that reconciles the node's
// announcements with the API, and a runnable that stops them when mgr
// stops. mgr must not use leader election for the agent: every node runs
// its own. mgr's scheme must know lbkit.io/v1alpha1.
func Setup(mgr manager.Manager, cfg Config) (*Agent, error) {
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("%w: NodeName is required", ErrInvalidConfig)
	}
	if cfg.RouterID.IsValid() && !cfg.RouterID.Is4() {
		return nil, fmt.Errorf("%w: RouterID %v is not an IPv4 address", ErrInvalidConfig, cfg.RouterID)
	}
	if cfg.Election == nil {
		cfg.Election = Single(cfg.NodeName)
	}
	if cfg.NewL2 == nil {
		cfg.NewL2 = l2.New
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, c: mgr.GetClient(), api: mgr.GetAPIReader(), events: mgr.GetEventRecorder(Name),
		log: log.With("node", cfg.NodeName), routerID: cfg.RouterID,
		speakers: map[string]*speaker{}, l2s: map[string]*announcer{}, cands: map[string][]string{},
		noEndpoints: map[string]bool{}, leaders: map[string]string{}}
	if err := mgr.Add(manager.RunnableFunc(a.run)); err != nil {
		return nil, err
	}
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{}}
	})
	spec := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	return a, builder.ControllerManagedBy(mgr).
		Named(Name).
		Watches(&corev1.Service{}, all).
		Watches(&discoveryv1.EndpointSlice{}, all).
		Watches(&corev1.Node{}, all, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(&v1alpha1.BGPPeeringPolicy{}, all, spec).
		Watches(&v1alpha1.L2AnnouncementPolicy{}, all, spec).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1, NeedLeaderElection: ptr(false),
			SkipNameValidation: ptr(true)}).
		Complete(reconcile.Func(a.reconcile))
}

func ptr[T any](v T) *T { return &v }

// run follows the election until ctx ends, then stops the agent.
func (a *Agent) run(ctx context.Context) error {
	el := a.cfg.Election.Elector()
	for {
		select {
		case <-el.Changes():
			a.mu.Lock()
			a.followLeaders()
			a.mu.Unlock()
		case <-ctx.Done():
			a.stop()
			return nil
		}
	}
}

// stop hands the node's services over: it leaves the election (so that
// other nodes answer at once), stops answering ARP and NDP, and closes the
// BGP sessions keeping the routes at neighbors with graceful restart.
func (a *Agent) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	if c, ok := a.cfg.Election.(io.Closer); ok {
		if err := c.Close(); err != nil {
			a.log.Warn("leaving the election", "err", err)
		}
	}
	for _, s := range a.l2s {
		_ = s.an.Close()
	}
	for _, s := range a.speakers {
		_ = s.sp.CloseGraceful()
	}
	a.log.Info("agent stopped")
}

// reconcile brings the node's announcements in line with the API.
func (a *Agent) reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	w, err := a.load(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	probs := problems{}
	d := compute(w, a.cfg.NodeName, probs)
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return reconcile.Result{}, nil
	}
	if !a.routerID.IsValid() && w.node != nil {
		a.routerID = internalIPv4(w.node)
	}
	a.applyElection(d)
	a.applyBGP(ctx, d, probs, func(name string) (string, error) { return a.password(ctx, name) })
	a.applyL2(ctx, d, probs)
	a.followLeaders()
	a.reportNoEndpoints(d)
	a.mu.Unlock()
	return reconcile.Result{RequeueAfter: Resync}, a.writeStatuses(ctx, w, d, probs)
}

// load reads the world from the informer caches.
func (a *Agent) load(ctx context.Context) (*world, error) {
	w := &world{}
	var (
		nodes  corev1.NodeList
		bgps   v1alpha1.BGPPeeringPolicyList
		l2s    v1alpha1.L2AnnouncementPolicyList
		svcs   corev1.ServiceList
		slices discoveryv1.EndpointSliceList
	)
	for _, l := range []client.ObjectList{&nodes, &bgps, &l2s, &svcs, &slices} {
		if err := a.c.List(ctx, l); err != nil {
			return nil, err
		}
	}
	w.nodes, w.bgp, w.l2, w.slices = nodes.Items, bgps.Items, l2s.Items, slices.Items
	for i := range nodes.Items {
		if nodes.Items[i].Name == a.cfg.NodeName {
			w.node = &nodes.Items[i]
		}
	}
	for _, s := range svcs.Items {
		if c := s.Spec.LoadBalancerClass; c == nil || *c == a.cfg.Class {
			w.services = append(w.services, s)
		}
	}
	return w, nil
}

// password returns the "password" key of the Secret name.
func (a *Agent) password(ctx context.Context, name string) (string, error) {
	if a.cfg.SecretNamespace == "" {
		return "", fmt.Errorf("%w: Secret %q: the agent has no Secret namespace", errSecret, name)
	}
	var s corev1.Secret
	if err := a.api.Get(ctx, client.ObjectKey{Namespace: a.cfg.SecretNamespace, Name: name}, &s); err != nil {
		return "", fmt.Errorf("%w: Secret %s/%s: %v", errSecret, a.cfg.SecretNamespace, name, err)
	}
	pw, ok := s.Data["password"]
	if !ok || len(pw) == 0 {
		return "", fmt.Errorf("%w: Secret %s/%s has no key \"password\"", errSecret, a.cfg.SecretNamespace, name)
	}
	return string(pw), nil
}

// internalIPv4 returns the node's first IPv4 InternalIP.
func internalIPv4(n *corev1.Node) netip.Addr {
	for _, ad := range n.Status.Addresses {
		if ad.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(ad.Address); err == nil && ip.Unmap().Is4() {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// reportNoEndpoints records an event for every service newly without a
// ready endpoint anywhere.
func (a *Agent) reportNoEndpoints(d *desired) {
	for key := range a.noEndpoints {
		if _, ok := d.noEndpoints[key]; !ok {
			delete(a.noEndpoints, key)
		}
	}
	for key, svc := range d.noEndpoints {
		if a.noEndpoints[key] {
			continue
		}
		a.noEndpoints[key] = true
		a.events.Eventf(svc, nil, corev1.EventTypeWarning, EventNoReadyEndpoints, "Announce",
			"externalTrafficPolicy is Local and no node has a ready endpoint: no node announces the service")
	}
}

// followLeaders counts leadership changes of the L2 services.
func (a *Agent) followLeaders() {
	for key := range a.leaders {
		if _, ok := a.cands[key]; !ok {
			delete(a.leaders, key)
		}
	}
	for key := range a.cands {
		leader, _ := a.cfg.Election.Leader(key)
		if old, ok := a.leaders[key]; ok && old != leader {
			a.changes++
		}
		a.leaders[key] = leader
	}
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// isGone reports whether err says the object no longer exists.
func isGone(err error) bool { return apierrors.IsNotFound(err) }
