package agent

import (
	"context"
	"errors"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
)

// policy is a BGPPeeringPolicy or an L2AnnouncementPolicy: the object
// itself (for the client) and its status.
type policy interface {
	object() client.Object
	status() *v1alpha1.PolicyStatus
}

type bgpPolicy struct{ *v1alpha1.BGPPeeringPolicy }

func (p bgpPolicy) object() client.Object          { return p.BGPPeeringPolicy }
func (p bgpPolicy) status() *v1alpha1.PolicyStatus { return &p.Status }

type l2Policy struct{ *v1alpha1.L2AnnouncementPolicy }

func (p l2Policy) object() client.Object          { return p.L2AnnouncementPolicy }
func (p l2Policy) status() *v1alpha1.PolicyStatus { return &p.Status }

// writeStatuses writes this node's Applied condition into every policy
// selecting it and removes its entry from the others.
func (a *Agent) writeStatuses(ctx context.Context, w *world, d *desired, probs problems) error {
	var errs []error
	for i := range w.bgp {
		p := &w.bgp[i]
		errs = append(errs, a.writeStatus(ctx, bgpPolicy{p}, func() policy { return bgpPolicy{&v1alpha1.BGPPeeringPolicy{}} },
			d.selectedBGP[p.Name], probs[policyKey{"bgp", p.Name}]))
	}
	for i := range w.l2 {
		p := &w.l2[i]
		errs = append(errs, a.writeStatus(ctx, l2Policy{p}, func() policy { return l2Policy{&v1alpha1.L2AnnouncementPolicy{}} },
			d.selectedL2[p.Name], probs[policyKey{"l2", p.Name}]))
	}
	return errors.Join(errs...)
}

// writeStatus updates cached's status entry for this node when it differs
// from what selected and ps say, retrying on conflicts with fresh reads.
func (a *Agent) writeStatus(ctx context.Context, cached policy, fresh func() policy, selected bool, ps []problem) error {
	want := metav1.Condition{Type: v1alpha1.ConditionApplied, Status: metav1.ConditionTrue,
		Reason: v1alpha1.ReasonApplied, Message: "applied on this node"}
	if len(ps) > 0 {
		want.Status = metav1.ConditionFalse
		want.Reason, want.Message = joinProblems(ps)
	}
	if !a.setEntry(cached.status(), selected, want, cached.object().GetGeneration(), true) {
		return nil
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := fresh()
		if err := a.api.Get(ctx, client.ObjectKeyFromObject(cached.object()), p.object()); err != nil {
			if isGone(err) {
				return nil
			}
			return err
		}
		if !a.setEntry(p.status(), selected, want, p.object().GetGeneration(), false) {
			return nil
		}
		err := a.c.Status().Update(ctx, p.object())
		if isGone(err) {
			return nil
		}
		return err
	})
}

// setEntry reports whether st's entry for this node differs from what
// selected and want say and, unless dryRun, makes it so.
func (a *Agent) setEntry(st *v1alpha1.PolicyStatus, selected bool, want metav1.Condition, gen int64, dryRun bool) bool {
	i := slices.IndexFunc(st.Nodes, func(n v1alpha1.NodePolicyStatus) bool { return n.Node == a.cfg.NodeName })
	if !selected {
		if i < 0 {
			return false
		}
		if !dryRun {
			st.Nodes = slices.Delete(st.Nodes, i, i+1)
		}
		return true
	}
	want.ObservedGeneration = gen
	if i >= 0 {
		c := meta.FindStatusCondition(st.Nodes[i].Conditions, want.Type)
		if c != nil && c.Status == want.Status && c.Reason == want.Reason && c.Message == want.Message && c.ObservedGeneration == gen {
			return false
		}
	}
	if dryRun {
		return true
	}
	if i < 0 {
		st.Nodes = append(st.Nodes, v1alpha1.NodePolicyStatus{Node: a.cfg.NodeName})
		i = len(st.Nodes) - 1
	}
	meta.SetStatusCondition(&st.Nodes[i].Conditions, want)
	return true
}
