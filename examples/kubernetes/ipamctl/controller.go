package ipamctl

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/ipam"
)

// Name is the controller's name: its field manager, event reporter and
// default leader-election Lease.
const Name = "lbkit-controller"

// Options configure the controller. The zero value is usable.
type Options struct {
	// Class is the spec.loadBalancerClass served; services without a class
	// are served too. Empty serves only services without a class.
	Class string
	// Workers is the number of services reconciled at once (default 8).
	Workers int
	// PoolStatusDelay batches pool status updates: a pool's counts are
	// written at most once per delay while services change (default 1s).
	PoolStatusDelay time.Duration
	// FieldOwner is the field manager of the controller's status writes
	// (default Name).
	FieldOwner string
	// Logger receives the ipam.Manager's decisions; nil logs nothing.
	Logger *slog.Logger
}

// A Controller is the running IPAM controller. Its zero value is not
// usable: get one from Setup.
type Controller struct {
	client client.Client
	events recorder.EventRecorder
	ipam   *ipam.Manager
	opts   Options

	ready chan struct{} // closed when the start-up barrier is passed

	// pending are the services found at start not yet reconciled; synced
	// is closed when none is left.
	pendingMu sync.Mutex
	pending   map[string]bool
	synced    chan struct{}

	// touchServices enqueues services after pool changes; touchPools
	// enqueues pools for a (delayed) status update.
	touchServices chan event.GenericEvent
	touchPools    chan event.GenericEvent

	mu      sync.Mutex
	applied map[string]applied // by pool name: the spec given to ipam
}

// applied records which generation of a pool was given to the ipam.Manager
// and whether it was refused.
type applied struct {
	generation int64
	err        error
}

// The permissions the controller needs (config/rbac is generated from them).
//
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services/status,verbs=patch;update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=lbkit.io,resources=loadbalancerippools,verbs=get;list;watch
// +kubebuilder:rbac:groups=lbkit.io,resources=loadbalancerippools/status,verbs=patch;update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=lbkit-system

// Setup adds the IPAM controller to mgr: the start-up barrier and the
// reconcilers of Services and LoadBalancerIPPools, all run on the elected
// leader only. mgr's scheme must know lbkit.io/v1alpha1.
func Setup(mgr manager.Manager, opts Options) (*Controller, error) {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.FieldOwner == "" {
		opts.FieldOwner = Name
	}
	if opts.PoolStatusDelay <= 0 {
		opts.PoolStatusDelay = time.Second
	}
	var mopts []ipam.ManagerOption
	if opts.Logger != nil {
		mopts = append(mopts, ipam.WithLogger(opts.Logger))
	}
	c := &Controller{
		client:        mgr.GetClient(),
		events:        mgr.GetEventRecorder(Name),
		ipam:          ipam.NewManager(mopts...),
		opts:          opts,
		ready:         make(chan struct{}),
		synced:        make(chan struct{}),
		touchServices: make(chan event.GenericEvent, 1024),
		touchPools:    make(chan event.GenericEvent, 1024),
		applied:       make(map[string]applied),
	}
	if err := mgr.Add(manager.RunnableFunc(c.start)); err != nil {
		return nil, err
	}
	if err := c.setupServices(mgr); err != nil {
		return nil, err
	}
	if err := c.setupPools(mgr); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Controller) setupServices(mgr manager.Manager) error {
	return builder.ControllerManagedBy(mgr).
		Named("service").
		For(&corev1.Service{}, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(c.servicesOfNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		WatchesRawSource(source.Channel(c.touchServices, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.opts.Workers}).
		Complete(reconcile.Func(c.reconcileService))
}

func (c *Controller) setupPools(mgr manager.Manager) error {
	delay := c.opts.PoolStatusDelay
	later := handler.Funcs{GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue) {
		q.AddAfter(requestFor(e.Object), delay)
	}}
	return builder.ControllerManagedBy(mgr).
		Named("loadbalancerippool").
		For(&v1alpha1.LoadBalancerIPPool{}).
		WatchesRawSource(source.Channel(c.touchPools, later)).
		Complete(reconcile.Func(c.reconcilePool))
}

// Ready returns a channel closed once the start-up barrier is passed: every
// existing assignment restored, services being served.
func (c *Controller) Ready() <-chan struct{} { return c.ready }

// Synced returns a channel closed once every Service that existed when the
// controller started has been reconciled after the start-up barrier.
func (c *Controller) Synced() <-chan struct{} { return c.synced }

// done records that the service key was reconciled.
func (c *Controller) done(key string) {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	if c.pending == nil {
		return // synced already
	}
	delete(c.pending, key)
	if len(c.pending) == 0 {
		c.pending = nil
		close(c.synced)
	}
}

// Manager returns the ipam.Manager holding the controller's assignments.
func (c *Controller) Manager() *ipam.Manager { return c.ipam }

// waitReady blocks until the start-up barrier is passed or ctx ends.
func (c *Controller) waitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start is the start-up barrier, run once on the elected leader: it gives
// every pool to the ipam.Manager and restores the addresses every
// LoadBalancer Service holds, then lets the reconcilers serve.
func (c *Controller) start(ctx context.Context) error {
	var pools v1alpha1.LoadBalancerIPPoolList
	if err := c.client.List(ctx, &pools); err != nil {
		return fmt.Errorf("ipamctl: list pools: %w", err)
	}
	for i := range pools.Items {
		c.applyPool(&pools.Items[i])
	}
	var svcs corev1.ServiceList
	if err := c.client.List(ctx, &svcs); err != nil {
		return fmt.Errorf("ipamctl: list services: %w", err)
	}
	var reqs []ipam.Request
	pending := make(map[string]bool)
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		pending[svc.Namespace+"/"+svc.Name] = true
		if !c.serves(svc) {
			continue
		}
		addrs := ingressAddrs(svc)
		if len(addrs) == 0 {
			continue
		}
		r, err := c.request(ctx, svc)
		if err != nil {
			r = c.baseRequest(ctx, svc)
		}
		r.Addrs, r.Pool = addrs, ""
		reqs = append(reqs, r)
	}
	for i, err := range c.ipam.Restore(reqs) {
		if err != nil && c.opts.Logger != nil {
			c.opts.Logger.Warn("ipamctl: not restored", "service", reqs[i].Key, "err", err)
		}
	}
	c.pendingMu.Lock()
	c.pending = pending
	c.pendingMu.Unlock()
	close(c.ready)
	c.done("") // closes synced if there is nothing to reconcile
	<-ctx.Done()
	return nil
}
