package ipamctl

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/ipam"
	"github.com/lbkit/lbkit/selector"
)

// ErrInvalidPool reports a pool spec the controller cannot use.
var ErrInvalidPool = errors.New("invalid pool")

func (c *Controller) reconcilePool(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if err := c.waitReady(ctx); err != nil {
		return reconcile.Result{}, err
	}
	pool := new(v1alpha1.LoadBalancerIPPool)
	if err := c.client.Get(ctx, req.NamespacedName, pool); err != nil {
		if apierrors.IsNotFound(err) {
			c.deletePool(ctx, req.Name)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if c.applyPool(pool) {
		if err := c.touchAllServices(ctx); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, c.writePoolStatus(ctx, pool)
}

// applyPool gives pool's spec to the ipam.Manager unless this generation
// was given already, and reports whether the Manager's pools changed. An
// invalid spec changes nothing; the error is kept for the pool's status.
func (c *Controller) applyPool(pool *v1alpha1.LoadBalancerIPPool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.applied[pool.Name]; ok && a.generation == pool.Generation {
		return false
	}
	p, err := ipamPool(pool)
	if err == nil {
		err = c.ipam.SetPool(p)
	}
	c.applied[pool.Name] = applied{generation: pool.Generation, err: err}
	return err == nil
}

func (c *Controller) deletePool(ctx context.Context, name string) {
	c.mu.Lock()
	delete(c.applied, name)
	c.mu.Unlock()
	if c.ipam.DeletePool(name) == nil {
		if err := c.touchAllServices(ctx); err != nil && c.opts.Logger != nil {
			c.opts.Logger.Error("ipamctl: list services", "err", err)
		}
	}
}

// ipamPool converts a LoadBalancerIPPool to an ipam.Pool.
func ipamPool(pool *v1alpha1.LoadBalancerIPPool) (ipam.Pool, error) {
	s := &pool.Spec
	p := ipam.Pool{
		Name:                       pool.Name,
		AllowFirstLast:             s.AllowFirstLastIPs == v1alpha1.AllowFirstLastIPYes,
		Disabled:                   s.Disabled,
		Priority:                   int(s.Priority),
		ManualOnly:                 s.ManualOnly,
		AllowCrossNamespaceSharing: s.AllowCrossNamespaceSharing,
	}
	var errs []error
	for i, b := range s.Blocks {
		r, err := ipamRange(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: blocks[%d]: %w", ErrInvalidPool, i, err))
			continue
		}
		p.Ranges = append(p.Ranges, r)
	}
	var err error
	if p.ServiceSelector, err = labelSelector(s.ServiceSelector); err != nil {
		errs = append(errs, fmt.Errorf("%w: serviceSelector: %w", ErrInvalidPool, err))
	}
	if p.NamespaceSelector, err = labelSelector(s.NamespaceSelector); err != nil {
		errs = append(errs, fmt.Errorf("%w: namespaceSelector: %w", ErrInvalidPool, err))
	}
	return p, errors.Join(errs...)
}

// ipamRange converts a block.
func ipamRange(b v1alpha1.IPBlock) (ipam.Range, error) {
	if b.CIDR != "" {
		return ipam.ParseRange(b.CIDR)
	}
	from, err := netip.ParseAddr(b.Start)
	if err != nil {
		return ipam.Range{}, fmt.Errorf("start: %w", err)
	}
	to, err := netip.ParseAddr(b.Stop)
	if err != nil {
		return ipam.Range{}, fmt.Errorf("stop: %w", err)
	}
	return ipam.RangeFrom(from, to)
}

// labelSelector converts a selector; nil selects everything.
func labelSelector(ls *metav1.LabelSelector) (selector.Selector, error) {
	if ls == nil {
		return selector.Everything(), nil
	}
	sel := selector.LabelSelector{MatchLabels: ls.MatchLabels}
	for _, e := range ls.MatchExpressions {
		sel.MatchExpressions = append(sel.MatchExpressions, selector.Requirement{
			Key: e.Key, Operator: selector.Operator(e.Operator), Values: e.Values})
	}
	return sel.Selector()
}

// writePoolStatus writes pool's counts and conditions if they changed.
func (c *Controller) writePoolStatus(ctx context.Context, pool *v1alpha1.LoadBalancerIPPool) error {
	next := pool.DeepCopy()
	st := &next.Status
	c.mu.Lock()
	invalid := c.applied[pool.Name].err
	c.mu.Unlock()
	cond := metav1.Condition{Type: v1alpha1.InvalidSpec, Status: metav1.ConditionFalse,
		Reason: "Valid", ObservedGeneration: pool.Generation}
	if invalid != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "Invalid", invalid.Error()
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	ps, ok := c.ipam.Pool(pool.Name)
	st.IPv4, st.IPv6 = counts(ps, ipam.IPv4), counts(ps, ipam.IPv6)
	cond = metav1.Condition{Type: v1alpha1.PoolConflict, Status: metav1.ConditionFalse,
		Reason: "NoConflict", ObservedGeneration: pool.Generation}
	if ok && ps.Conflicting() {
		msgs := make([]string, len(ps.Conflicts))
		for i, cf := range ps.Conflicts {
			msgs[i] = fmt.Sprintf("block %s overlaps block %s of pool %s", cf.Range, cf.With, cf.Pool)
		}
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "Conflict", strings.Join(msgs, "; ")
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	if equalPoolStatus(&pool.Status, st) {
		return nil
	}
	patch := client.MergeFromWithOptions(pool, client.MergeFromWithOptimisticLock{})
	return client.IgnoreNotFound(c.client.Status().Patch(ctx, next, patch, client.FieldOwner(c.opts.FieldOwner)))
}

func equalPoolStatus(a, b *v1alpha1.LoadBalancerIPPoolStatus) bool {
	return equalCounts(a.IPv4, b.IPv4) && equalCounts(a.IPv6, b.IPv6) &&
		len(a.Conditions) == len(b.Conditions) && sameConditions(a.Conditions, b.Conditions)
}

func sameConditions(a, b []metav1.Condition) bool {
	for _, x := range a {
		y := meta.FindStatusCondition(b, x.Type)
		if y == nil || *y != x {
			return false
		}
	}
	return true
}

func equalCounts(a, b *v1alpha1.AddressCounts) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// counts returns the exact counts of family f, or nil when the pool uses no
// block of f.
func counts(ps ipam.PoolStatus, f ipam.Family) *v1alpha1.AddressCounts {
	has := false
	for _, r := range ps.Active {
		has = has || r.Family() == f
	}
	if !has {
		return nil
	}
	used, free := ps.Used(f), ps.Free(f)
	total := new(big.Int).Add(used, free)
	return &v1alpha1.AddressCounts{Total: total.String(), Used: used.String(), Free: free.String()}
}

// touchPool enqueues a status update of the pool named name.
func (c *Controller) touchPool(name string) {
	if name == "" {
		return
	}
	p := new(v1alpha1.LoadBalancerIPPool)
	p.Name = name
	select {
	case c.touchPools <- event.GenericEvent{Object: p}:
	default: // full: updates are pending anyway
	}
}

// touchAllServices enqueues every LoadBalancer Service.
func (c *Controller) touchAllServices(ctx context.Context) error {
	var svcs corev1.ServiceList
	if err := c.client.List(ctx, &svcs); err != nil {
		return err
	}
	for i := range svcs.Items {
		if svcs.Items[i].Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		select {
		case c.touchServices <- event.GenericEvent{Object: &svcs.Items[i]}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// servicesOfNamespace maps a namespace to its LoadBalancer Services.
func (c *Controller) servicesOfNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	var svcs corev1.ServiceList
	if err := c.client.List(ctx, &svcs, client.InNamespace(ns.GetName())); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, s := range svcs.Items {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
		}
	}
	return reqs
}
