package ipamctl

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Event reasons.
const (
	EventAssigned = "Assigned"
	EventMoved    = "Moved"
	EventReleased = "Released"
	EventRefused  = "Refused"
)

// recordService records one event for what a status write changed: the
// addresses (old to o.addrs) or a new refusal (prev to o.cond).
func (c *Controller) recordService(svc *corev1.Service, old []netip.Addr, o outcome, prev metav1.Condition) {
	switch {
	case len(old) == 0 && len(o.addrs) > 0:
		c.event(svc, corev1.EventTypeNormal, EventAssigned, "assigned %v (%s)", o.addrs, o.cond.Message)
	case len(old) > 0 && len(o.addrs) > 0:
		why := o.moved
		if why == "" {
			why = "request changed"
		}
		c.event(svc, corev1.EventTypeNormal, EventMoved, "moved from %v to %v: %s", old, o.addrs, why)
	case len(old) > 0:
		c.event(svc, corev1.EventTypeWarning, EventReleased, "released %v: %s", old, o.cond.Message)
	}
	if o.cond.Status == metav1.ConditionFalse &&
		(prev.Status != o.cond.Status || prev.Reason != o.cond.Reason || prev.Message != o.cond.Message) {
		c.event(svc, corev1.EventTypeWarning, EventRefused, "%s: %s", o.cond.Reason, o.cond.Message)
	}
}

func (c *Controller) event(obj runtime.Object, typ, reason, format string, args ...any) {
	c.events.Eventf(obj, nil, typ, reason, reason, "%s", fmt.Sprintf(format, args...))
}
