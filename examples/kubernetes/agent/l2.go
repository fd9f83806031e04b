package agent

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/l2"
)

// An Election elects the node that answers for each service on L2.
// *gossip.Cluster (package github.com/lbkit/lbkit/l2/gossip) and
// *lease.Elector implement it. Node names are the candidates' names: the
// election's members must be named after their Kubernetes nodes.
type Election interface {
	// Elector is given to every L2 announcer of the agent.
	Elector() l2.Elector
	// SetCandidates restricts the election for a service key to nodes;
	// with none, nobody leads it.
	SetCandidates(key string, nodes ...string)
	// ClearCandidates lets every member lead key again.
	ClearCandidates(key string)
	// Leader returns the node leading key as this node sees it.
	Leader(key string) (string, bool)
}

// single is the Election of an agent without one: this node alone.
type single struct{ *l2.Rendezvous }

// Single returns the Election of a node that answers for every service
// it is a candidate for, with no other node: for one-node clusters and
// tests.
func Single(node string) Election { return single{l2.NewRendezvous(node, node)} }

func (s single) Elector() l2.Elector { return s.Rendezvous }

// announcer is a running L2 policy.
type announcer struct {
	an         *l2.Announcer
	interfaces []string
	announced  map[string]announce.Service
}

// applyElection sets the candidates of every L2 service on the election,
// before the announcers are told about the services.
func (a *Agent) applyElection(d *desired) {
	for key := range a.cands {
		if _, ok := d.candidates[key]; !ok {
			a.cfg.Election.ClearCandidates(key)
			delete(a.cands, key)
		}
	}
	for key, c := range d.candidates {
		if old, ok := a.cands[key]; ok && slices.Equal(old, c) {
			continue
		}
		a.cfg.Election.SetCandidates(key, c...)
		a.cands[key] = c
	}
}

// applyL2 makes the running announcers match d.l2s.
func (a *Agent) applyL2(ctx context.Context, d *desired, probs problems) {
	for name, s := range a.l2s {
		if ld, ok := d.l2s[name]; ok && slices.Equal(ld.interfaces, s.interfaces) {
			continue
		}
		a.log.Info("stopping L2 announcer", "policy", name)
		_ = s.an.Close()
		delete(a.l2s, name)
	}
	for _, name := range sortedKeys(d.l2s) {
		ld := d.l2s[name]
		k := policyKey{"l2", name}
		s := a.l2s[name]
		if s == nil {
			if err := checkInterfaces(ld.interfaces); err != nil {
				probs.add(k, v1alpha1.ReasonInvalidPolicy, "%v", err)
				continue
			}
			an, err := a.cfg.NewL2(ctx, l2.Config{Interfaces: ld.interfaces, Elector: a.cfg.Election.Elector(),
				Gratuitous: a.cfg.Gratuitous, Logger: a.log.With("policy", name)})
			if err != nil {
				reason := v1alpha1.ReasonApplyFailed
				if errors.Is(err, l2.ErrInvalidConfig) {
					reason = v1alpha1.ReasonInvalidPolicy
				}
				probs.add(k, reason, "%v", err)
				continue
			}
			a.log.Info("started L2 announcer", "policy", name, "interfaces", an.Interfaces())
			s = &announcer{an: an, interfaces: ld.interfaces, announced: map[string]announce.Service{}}
			a.l2s[name] = s
		}
		if len(s.an.Interfaces()) == 0 {
			probs.add(k, v1alpha1.ReasonNoMatchingInterface, "no interface of this node that is up matches %q", ld.interfaces)
		}
		for _, err := range applyServices(ctx, s.an, s.announced, ld.services) {
			probs.add(k, v1alpha1.ReasonApplyFailed, "%v", err)
		}
	}
}

// checkInterfaces reports whether every pattern compiles.
func checkInterfaces(patterns []string) error {
	for _, p := range patterns {
		if _, err := regexp.Compile("^(?:" + p + ")$"); err != nil {
			return fmt.Errorf("interfaces: %q: %v", p, err)
		}
	}
	return nil
}
