package selector

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modelMatches is a deliberately simple evaluator of requirements as
// written (not canonicalized), straight from the Kubernetes semantics.
func modelMatches(reqs []Requirement, set map[string]string) bool {
	for _, r := range reqs {
		v, ok := set[r.Key]
		listed := slices.Contains(r.Values, v)
		var m bool
		switch r.Operator {
		case In, Equals, DoubleEquals:
			m = ok && listed
		case NotIn, NotEquals:
			m = !ok || !listed
		case Exists:
			m = ok
		case DoesNotExist:
			m = !ok
		case Gt, Lt:
			have, err1 := strconv.ParseInt(v, 10, 64)
			bound, err2 := strconv.ParseInt(r.Values[0], 10, 64)
			m = ok && err1 == nil && err2 == nil &&
				(r.Operator == Gt && have > bound || r.Operator == Lt && have < bound)
		default:
			panic("model: bad operator " + r.Operator)
		}
		if !m {
			return false
		}
	}
	return true
}

var (
	modelKeys     = []string{"a", "b", "in", "k8s.io/c"}
	modelValues   = []string{"", "x", "y", "in", "notin", "1", "5", "10", "007"}
	modelInts     = []string{"0", "1", "5", "10", "007"}
	modelSetExtra = []string{"-3", "+7", "abc", "99999999999999999999", "x y"}
	allOperators  = []Operator{In, NotIn, Exists, DoesNotExist, Gt, Lt, Equals, DoubleEquals, NotEquals}
)

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }

func randomRequirement(r *rand.Rand) Requirement {
	req := Requirement{Key: pick(r, modelKeys), Operator: pick(r, allOperators)}
	switch req.Operator {
	case In, NotIn:
		for range 1 + r.IntN(4) {
			req.Values = append(req.Values, pick(r, modelValues))
		}
		if r.IntN(8) == 0 { // more than linearMax values: searched, not scanned
			req.Values = append(req.Values, modelValues...)
		}
	case Equals, DoubleEquals, NotEquals:
		req.Values = []string{pick(r, modelValues)}
	case Gt, Lt:
		req.Values = []string{pick(r, modelInts)}
	}
	return req
}

func randomSet(r *rand.Rand) Set {
	s := Set{}
	for _, k := range modelKeys {
		switch r.IntN(3) {
		case 0:
			s[k] = pick(r, modelValues)
		case 1:
			s[k] = pick(r, append(modelInts, modelSetExtra...))
		}
	}
	return s
}

// render writes reqs in the string syntax with random spelling and spacing.
func render(r *rand.Rand, reqs []Requirement) string {
	sp := func() string { return pick(r, []string{"", "", " ", "  ", "\t", "\n"}) }
	parts := make([]string, len(reqs))
	for i, q := range reqs {
		var b strings.Builder
		b.WriteString(sp())
		if q.Operator == DoesNotExist {
			b.WriteString("!" + sp())
		}
		b.WriteString(q.Key)
		switch q.Operator {
		case In, NotIn:
			word := map[Operator]string{In: " in", NotIn: " notin"}[q.Operator]
			b.WriteString(word + sp() + "(" + sp())
			// Kubernetes rejects some spellings of repeated empty values,
			// such as "(y,,)": write each value once.
			vals := slices.Compact(slices.Sorted(slices.Values(q.Values)))
			r.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
			for j, v := range vals {
				if j > 0 {
					b.WriteString(sp() + "," + sp())
				}
				b.WriteString(v)
			}
			b.WriteString(sp() + ")")
		case Equals, DoubleEquals, NotEquals:
			b.WriteString(sp() + string(q.Operator) + sp() + q.Values[0])
		case Gt:
			b.WriteString(sp() + ">" + sp() + q.Values[0])
		case Lt:
			b.WriteString(sp() + "<" + sp() + q.Values[0])
		}
		b.WriteString(sp())
		parts[i] = b.String()
	}
	return strings.Join(parts, ",")
}

func TestReferenceModel(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	matched := 0
	for i := range 3000 {
		reqs := make([]Requirement, r.IntN(5))
		for j := range reqs {
			reqs[j] = randomRequirement(r)
		}
		fromNew, err := New(nil, reqs...)
		require.NoError(t, err, "%v", reqs)
		text := render(r, reqs)
		fromParse, err := Parse(text)
		require.NoError(t, err, "%q", text)
		require.True(t, fromNew.Equal(fromParse), "New %v vs Parse %q", reqs, text)

		canon := fromNew.String()
		again, err := Parse(canon)
		require.NoError(t, err, "%q", canon)
		require.True(t, again.Equal(fromNew), "round trip %q", canon)
		require.Equal(t, canon, again.String())
		require.True(t, MustNew(nil, fromNew.Requirements()...).Equal(fromNew))

		for range 10 {
			set := randomSet(r)
			want := modelMatches(reqs, set)
			if want {
				matched++
			}
			assert.Equal(t, want, fromNew.Matches(set), "case %d: %q on %v", i, canon, set)
			assert.Equal(t, want, fromParse.Matches(toPairs(set)), "case %d: %q on %v", i, text, set)
			assert.Equal(t, want, modelMatches(fromNew.Requirements(), set), "canonical requirements of %q", canon)
		}
	}
	// Guard against a generator that only produces one outcome.
	assert.Greater(t, matched, 3000)
	assert.Less(t, matched, 27000)
}
