package ipamctl

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// ConditionSatisfied is the Service condition saying whether the service
// got the addresses it asked for.
const ConditionSatisfied = "lbkit.io/IPAMRequestSatisfied"

// Reasons of ConditionSatisfied.
const (
	ReasonSatisfied      = "Satisfied"
	ReasonNoPool         = "NoPool"
	ReasonDisabled       = "PoolDisabled"
	ReasonInUse          = "AddressInUse"
	ReasonOutOfRange     = "AddressOutOfRange"
	ReasonExhausted      = "PoolExhausted"
	ReasonFamily         = "FamilyUnavailable"
	ReasonInvalidRequest = "InvalidRequest"
	ReasonRefused        = "Refused"
)

// serves reports whether c handles svc: a LoadBalancer of c's class.
func (c *Controller) serves(svc *corev1.Service) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.DeletionTimestamp != nil {
		return false
	}
	cls := svc.Spec.LoadBalancerClass
	return cls == nil || *cls == c.opts.Class && c.opts.Class != ""
}

func (c *Controller) reconcileService(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if err := c.waitReady(ctx); err != nil {
		return reconcile.Result{}, err
	}
	key := req.Namespace + "/" + req.Name
	err := c.serviceOnce(ctx, req, key)
	if err == nil {
		c.done(key)
	}
	return reconcile.Result{}, err
}

func (c *Controller) serviceOnce(ctx context.Context, req reconcile.Request, key string) error {
	svc := new(corev1.Service)
	if err := c.client.Get(ctx, req.NamespacedName, svc); err != nil {
		if apierrors.IsNotFound(err) {
			c.release(key)
			return nil
		}
		return err
	}
	if !c.serves(svc) {
		c.release(key)
		return c.forget(ctx, svc)
	}
	return c.writeStatus(ctx, svc, c.assign(ctx, svc, key))
}

// An outcome is what a service holds after Assign, and why.
type outcome struct {
	addrs []netip.Addr
	cond  metav1.Condition
	moved string // why the addresses moved, if they did
}

// assign asks the ipam.Manager for svc's addresses.
func (c *Controller) assign(ctx context.Context, svc *corev1.Service, key string) outcome {
	o := outcome{cond: metav1.Condition{Type: ConditionSatisfied, ObservedGeneration: svc.Generation}}
	r, err := c.request(ctx, svc)
	if err != nil {
		// Keep what the service holds; say why its request is not served.
		o.cond.Status, o.cond.Reason, o.cond.Message = metav1.ConditionFalse, ReasonInvalidRequest, err.Error()
		o.addrs = c.held(key)
		return o
	}
	a, err := c.ipam.Assign(r)
	if err != nil {
		o.cond.Status, o.cond.Reason, o.cond.Message = metav1.ConditionFalse, reasonOf(err), err.Error()
	} else {
		o.cond.Status, o.cond.Reason = metav1.ConditionTrue, ReasonSatisfied
		o.cond.Message = "addresses from pool " + a.Pool
	}
	c.touchPool(a.Pool)
	if a.Previous != nil {
		o.moved = a.Reason.String()
		c.touchPool(a.Previous.Pool)
	}
	o.addrs = c.held(key)
	return o
}

// held returns the valid addresses the ipam.Manager has for key.
func (c *Controller) held(key string) []netip.Addr {
	a, ok := c.ipam.Assignment(key)
	if !ok || a.Stale {
		return nil
	}
	return a.Addrs
}

// release drops the addresses of key, if any, and updates its pool's status.
func (c *Controller) release(key string) {
	if a, ok := c.ipam.Assignment(key); ok {
		if c.ipam.Release(key) == nil {
			c.touchPool(a.Pool)
		}
	}
}

// reasonOf maps an ipam refusal to a condition reason.
func reasonOf(err error) string {
	for _, m := range []struct {
		err    error
		reason string
	}{
		{ipam.ErrInvalidRequest, ReasonInvalidRequest},
		{ipam.ErrDisabled, ReasonDisabled},
		{ipam.ErrInUse, ReasonInUse},
		{ipam.ErrOutOfRange, ReasonOutOfRange},
		{ipam.ErrExhausted, ReasonExhausted},
		{ipam.ErrFamily, ReasonFamily},
		{ipam.ErrNoPool, ReasonNoPool},
		{ipam.ErrNotFound, ReasonNoPool},
	} {
		if errors.Is(err, m.err) {
			return m.reason
		}
	}
	return ReasonRefused
}

// baseRequest is svc's request without what its annotations ask.
func (c *Controller) baseRequest(ctx context.Context, svc *corev1.Service) ipam.Request {
	r := ipam.Request{
		Key:      svc.Namespace + "/" + svc.Name,
		Labels:   selector.Set(svc.Labels),
		Families: families(svc),
	}
	ns := new(corev1.Namespace)
	if err := c.client.Get(ctx, types.NamespacedName{Name: svc.Namespace}, ns); err == nil {
		r.NamespaceLabels = selector.Set(ns.Labels)
	}
	for _, p := range svc.Spec.Ports {
		proto := ipam.Protocol(p.Protocol)
		if proto == "" {
			proto = ipam.TCP
		}
		r.Ports = append(r.Ports, ipam.Port{Protocol: proto, Port: uint16(p.Port)})
	}
	return r
}

// request is svc's request, with what its annotations ask.
func (c *Controller) request(ctx context.Context, svc *corev1.Service) (ipam.Request, error) {
	r := c.baseRequest(ctx, svc)
	var err1, err2, err3 error
	r.Addrs, err1 = requestedAddrs(svc.Annotations, svc.Spec.LoadBalancerIP)
	r.SharingKey, err2 = sharingKey(svc.Annotations)
	r.Pool, err3 = poolName(svc.Annotations)
	return r, errors.Join(err1, err2, err3)
}

// families maps the service's IP family policy to the ipam one.
func families(svc *corev1.Service) ipam.FamilyPolicy {
	if p := svc.Spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicyPreferDualStack:
			return ipam.PreferDualStack
		case corev1.IPFamilyPolicyRequireDualStack:
			return ipam.RequireDualStack
		}
	}
	if len(svc.Spec.IPFamilies) > 0 && svc.Spec.IPFamilies[0] == corev1.IPv6Protocol {
		return ipam.SingleStackIPv6
	}
	return ipam.SingleStackIPv4
}

// ingressAddrs returns the IP addresses of svc's status.
func ingressAddrs(svc *corev1.Service) []netip.Addr {
	var addrs []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// writeStatus writes o to svc's status if it differs from it, and records
// an event for what changed.
func (c *Controller) writeStatus(ctx context.Context, svc *corev1.Service, o outcome) error {
	old := ingressAddrs(svc)
	next := svc.DeepCopy()
	changed := !slices.Equal(old, o.addrs)
	if changed {
		next.Status.LoadBalancer.Ingress = ingress(o.addrs)
	}
	var prev metav1.Condition
	if p := meta.FindStatusCondition(svc.Status.Conditions, ConditionSatisfied); p != nil {
		prev = *p
	}
	condChanged := meta.SetStatusCondition(&next.Status.Conditions, o.cond)
	if !changed && !condChanged {
		return nil
	}
	patch := client.MergeFromWithOptions(svc, client.MergeFromWithOptimisticLock{})
	if err := c.client.Status().Patch(ctx, next, patch, client.FieldOwner(c.opts.FieldOwner)); err != nil {
		return err
	}
	c.recordService(svc, old, o, prev)
	return nil
}

// forget removes what the controller wrote to a service it no longer
// serves: its addresses and its condition.
func (c *Controller) forget(ctx context.Context, svc *corev1.Service) error {
	if meta.FindStatusCondition(svc.Status.Conditions, ConditionSatisfied) == nil {
		return nil
	}
	next := svc.DeepCopy()
	meta.RemoveStatusCondition(&next.Status.Conditions, ConditionSatisfied)
	next.Status.LoadBalancer.Ingress = nil
	patch := client.MergeFromWithOptions(svc, client.MergeFromWithOptimisticLock{})
	return client.IgnoreNotFound(c.client.Status().Patch(ctx, next, patch, client.FieldOwner(c.opts.FieldOwner)))
}

// ingress returns the status entries of addrs.
func ingress(addrs []netip.Addr) []corev1.LoadBalancerIngress {
	if len(addrs) == 0 {
		return nil
	}
	vip := corev1.LoadBalancerIPModeVIP
	in := make([]corev1.LoadBalancerIngress, len(addrs))
	for i, a := range addrs {
		in[i] = corev1.LoadBalancerIngress{IP: a.String(), IPMode: &vip}
	}
	return in
}
