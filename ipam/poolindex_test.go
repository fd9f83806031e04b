package ipam

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lbkit/lbkit/selector"
	"github.com/stretchr/testify/require"
)

// TestPoolIndexMatchesScan checks, on random pools and services, that the
// pools the index offers and that select a service are exactly those that
// matching every pool in order finds, in the same order, through changes
// of the pools.
func TestPoolIndexMatchesScan(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 12))
	keys := []string{"team", "tier", ServiceNameLabel, ServiceNamespaceLabel, NamespaceNameLabel, "env"}
	values := []string{"a", "b", "c", "ns1", "ns2", "svc1"}
	randomSelector := func() selector.Selector {
		if rnd.IntN(12) == 0 {
			return selector.Nothing()
		}
		var reqs []selector.Requirement
		for range rnd.IntN(3) {
			r := selector.Requirement{Key: keys[rnd.IntN(len(keys))]}
			switch rnd.IntN(5) {
			case 0, 1:
				r.Operator = selector.In
				for range 1 + rnd.IntN(2) {
					r.Values = append(r.Values, values[rnd.IntN(len(values))])
				}
			case 2:
				r.Operator, r.Values = selector.NotIn, []string{values[rnd.IntN(len(values))]}
			case 3:
				r.Operator = selector.Exists
			default:
				r.Operator = selector.DoesNotExist
			}
			reqs = append(reqs, r)
		}
		return selector.MustNew(nil, reqs...)
	}
	randomLabels := func() selector.Set {
		l := selector.Set{}
		for _, k := range keys {
			if rnd.IntN(2) == 0 {
				l[k] = values[rnd.IntN(len(values))]
			}
		}
		return l
	}
	m := NewManager()
	for round := range 40 {
		for range 5 {
			name := fmt.Sprintf("p%d", rnd.IntN(30))
			if rnd.IntN(6) == 0 {
				_ = m.DeletePool(name)
				continue
			}
			require.NoError(t, m.SetPool(Pool{Name: name, Priority: rnd.IntN(3),
				Ranges:          []Range{MustParseRange(fmt.Sprintf("10.0.%d.0/24", rnd.IntN(200)))},
				ServiceSelector: randomSelector(), NamespaceSelector: randomSelector(),
				Disabled: rnd.IntN(8) == 0, ManualOnly: rnd.IntN(8) == 0}))
		}
		for range 50 {
			req := &request{Request: Request{Key: values[rnd.IntN(len(values))] + "/" + values[rnd.IntN(len(values))],
				Labels: randomLabels(), NamespaceLabels: randomLabels()}}
			req.index()
			var want, got []string
			for _, p := range m.order {
				if !p.cfg.Disabled && !p.cfg.ManualOnly && p.selects(req) {
					want = append(want, p.name())
				}
			}
			cands := m.candidates(req)
			require.True(t, slices.IsSortedFunc(cands, func(a, b *pool) int { return compareOrder(a, b) }),
				"round %d: candidates out of order", round)
			for _, p := range cands {
				if !p.cfg.Disabled && !p.cfg.ManualOnly && p.selects(req) {
					got = append(got, p.name())
				}
			}
			require.Equal(t, want, got, "round %d: labels %v, namespace labels %v", round, req.Labels, req.NamespaceLabels)
		}
	}
}
