package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// A Service is what the controller needs to know of a LoadBalancer service;
// a Kubernetes controller fills it from a corev1.Service.
type Service struct {
	Namespace, Name string
	Labels          selector.Set
	NamespaceLabels selector.Set
	Families        ipam.FamilyPolicy
	Ports           []ipam.Port
	// SharingKey lets services share an address (MetalLB's
	// allow-shared-ip annotation).
	SharingKey string
	// Requested are addresses the user asked for (spec.loadBalancerIP or an
	// annotation); empty lets the pools choose.
	Requested []netip.Addr
	// Status holds the addresses the service had already been given
	// (status.loadBalancer.ingress); Restore uses it after a restart.
	Status []netip.Addr
}

// Key returns "namespace/name".
func (s Service) Key() string { return s.Namespace + "/" + s.Name }

// request returns the ipam request of s for the addresses addrs.
func (s Service) request(addrs []netip.Addr) ipam.Request {
	return ipam.Request{
		Key:             s.Key(),
		Labels:          s.Labels,
		NamespaceLabels: s.NamespaceLabels,
		Families:        s.Families,
		Addrs:           addrs,
		SharingKey:      s.SharingKey,
		Ports:           s.Ports,
	}
}

// An EventType says what happened to a service.
type EventType uint8

// The events a service informer delivers.
const (
	Added EventType = iota + 1
	Updated
	Deleted
)

// String returns "added", "updated" or "deleted".
func (t EventType) String() string {
	switch t {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return fmt.Sprintf("EventType(%d)", t)
}

// An Event is one change of a service.
type Event struct {
	Type    EventType
	Service Service
}

// Status is the outcome of reconciling a service: what a controller writes
// to status.loadBalancer.ingress (Addrs) and to an event or condition.
type Status struct {
	Addrs  []netip.Addr
	Pool   string
	Reason ipam.Reason
}

// Announcers composes the announcers of a node: BGP for the services that
// bgpSel selects, L2 (ARP/NDP) for those that l2Sel selects. Any
// announce.Announcer fits, so tests pass announcetest.Recorders where
// a controller passes a *bgp.Speaker and an *l2.Announcer.
func Announcers(bgpSel selector.Selector, bgp announce.Announcer, l2Sel selector.Selector, l2 announce.Announcer) announce.Announcer {
	return announce.Multi(announce.Select(bgpSel, bgp), announce.Select(l2Sel, l2))
}

// A Controller keeps addresses and announcements in line with services.
// Reconcile is safe for concurrent use for different services (the Manager
// and announcers are); events for one service must be delivered in order,
// as informers' work queues do.
type Controller struct {
	ipam *ipam.Manager
	ann  announce.Announcer
	log  *slog.Logger
}

// NewController returns a controller that assigns addresses with m and
// announces them with a. A nil log discards logs.
func NewController(m *ipam.Manager, a announce.Announcer, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{ipam: m, ann: a, log: log}
}

// Reconcile applies one event. For an added or updated service it ensures
// the service holds addresses (Manager.Assign is idempotent: unchanged
// services keep theirs) and announces exactly those. For a deleted service
// it withdraws the announcements first, so that no address is announced
// after it may go to another service, then releases the addresses.
//
// On error the caller requeues the event, as controller-runtime does; a
// service that cannot get addresses is withdrawn and releases any it had.
func (c *Controller) Reconcile(ctx context.Context, ev Event) (Status, error) {
	svc := ev.Service
	key := svc.Key()
	if ev.Type == Deleted {
		return Status{}, c.remove(ctx, key)
	}
	a, err := c.ipam.Assign(svc.request(svc.Requested))
	if err != nil {
		return Status{}, errors.Join(err, c.remove(ctx, key)) // err names the service
	}
	if a.Reason != ipam.Unchanged {
		c.log.Info("addresses", "service", key, "pool", a.Pool, "addrs", a.Addrs, "reason", a.Reason)
	}
	st := Status{Addrs: a.Addrs, Pool: a.Pool, Reason: a.Reason}
	if err := c.ann.Announce(ctx, announce.Service{Key: key, Labels: svc.Labels, Addrs: a.Addrs}); err != nil {
		return st, fmt.Errorf("%s: announce: %w", key, err)
	}
	return st, nil
}

// remove withdraws and releases key; a key without addresses is fine.
func (c *Controller) remove(ctx context.Context, key string) error {
	if err := c.ann.Withdraw(ctx, key); err != nil {
		return fmt.Errorf("%s: withdraw: %w", key, err)
	}
	if err := c.ipam.Release(key); err != nil && !errors.Is(err, ipam.ErrNotFound) {
		return fmt.Errorf("%s: release: %w", key, err)
	}
	return nil
}

// Restore is what a controller does once at start, before handling events:
// Manager.Restore adopts in one call the addresses every service already
// has (Status), so nothing moves across a restart and no new service can
// take them; then every service is reconciled as usual, which announces
// the restored addresses and gives the others (new services, and those
// whose addresses are no longer valid) new ones. It returns the status of
// every service that holds addresses, by key, and the errors joined: why a
// service's addresses were not restored, and failed reconciliations, which
// are retried by requeueing.
func (c *Controller) Restore(ctx context.Context, svcs []Service) (map[string]Status, error) {
	var reqs []ipam.Request
	for _, svc := range svcs {
		if len(svc.Status) > 0 {
			reqs = append(reqs, svc.request(svc.Status))
		}
	}
	var errs []error
	for i, err := range c.ipam.Restore(reqs) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: not restored: %w", reqs[i].Key, err))
		}
	}
	out := map[string]Status{}
	for _, svc := range svcs {
		st, err := c.Reconcile(ctx, Event{Type: Added, Service: svc})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[svc.Key()] = st
	}
	return out, errors.Join(errs...)
}

// Run reconciles events until ctx ends or events is closed, reporting each
// outcome to report (which may be nil).
func (c *Controller) Run(ctx context.Context, events <-chan Event, report func(Event, Status, error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			st, err := c.Reconcile(ctx, ev)
			if report != nil {
				report(ev, st, err)
			}
		}
	}
}
