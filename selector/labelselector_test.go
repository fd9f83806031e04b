package selector

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// poolSpec is the part of a Cilium-style pool manifest that holds selectors.
type poolSpec struct {
	ServiceSelector   *LabelSelector `json:"serviceSelector,omitempty"`
	NamespaceSelector LabelSelector  `json:"namespaceSelector"`
}

func TestLabelSelectorYAML(t *testing.T) {
	const manifest = `
serviceSelector:
  matchLabels:
    org: empire
  matchExpressions:
  - key: tier
    operator: NotIn
    values: [db, cache]
  - {key: canary, operator: DoesNotExist}
  - key: env
    operator: In
    values:
    - prod
    - staging
  - key: announced
    operator: Exists
`
	var spec poolSpec
	require.NoError(t, yaml.UnmarshalStrict([]byte(manifest), &spec))
	sel, err := spec.ServiceSelector.Selector()
	require.NoError(t, err)
	assert.Equal(t, "announced,!canary,env in (prod,staging),org=empire,tier notin (cache,db)", sel.String())
	assert.True(t, sel.Matches(Set{"org": "empire", "env": "prod", "announced": "bgp"}))
	assert.False(t, sel.Matches(Set{"org": "empire", "env": "prod", "announced": "bgp", "tier": "db"}))
	assert.False(t, sel.Matches(Set{"org": "rebels", "env": "prod", "announced": "bgp"}))

	// The value field, omitted, is the empty LabelSelector: everything.
	ns, err := spec.NamespaceSelector.Selector()
	require.NoError(t, err)
	assert.True(t, ns.IsEverything())
}

func TestLabelSelectorNilAndEmpty(t *testing.T) {
	var spec poolSpec
	require.NoError(t, yaml.Unmarshal([]byte(`namespaceSelector: {}`), &spec))
	require.Nil(t, spec.ServiceSelector, "omitted pointer field")

	sel, err := spec.ServiceSelector.Selector()
	require.NoError(t, err)
	assert.True(t, sel.IsNothing(), "nil *LabelSelector is Nothing, as in Kubernetes")
	assert.False(t, sel.Matches(Set{}))

	require.NoError(t, yaml.Unmarshal([]byte(`serviceSelector: {}`), &spec))
	require.NotNil(t, spec.ServiceSelector)
	sel, err = spec.ServiceSelector.Selector()
	require.NoError(t, err)
	assert.True(t, sel.IsEverything(), "empty LabelSelector is everything, as in Kubernetes")
	assert.True(t, sel.Matches(Set{"any": "thing"}))

	sel, err = (&LabelSelector{MatchLabels: map[string]string{}, MatchExpressions: []Requirement{}}).Selector()
	require.NoError(t, err)
	assert.True(t, sel.IsEverything())
}

func TestLabelSelectorJSONShape(t *testing.T) {
	ls := LabelSelector{
		MatchLabels:      map[string]string{"org": "empire"},
		MatchExpressions: []Requirement{{Key: "tier", Operator: In, Values: []string{"web"}}, {Key: "x", Operator: Exists}},
	}
	b, err := json.Marshal(ls)
	require.NoError(t, err)
	assert.JSONEq(t, `{"matchLabels":{"org":"empire"},"matchExpressions":[`+
		`{"key":"tier","operator":"In","values":["web"]},{"key":"x","operator":"Exists"}]}`, string(b))

	b, err = json.Marshal(LabelSelector{})
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(b))

	var back LabelSelector
	require.NoError(t, json.Unmarshal([]byte(`{"matchExpressions":[{"key":"a","operator":"DoesNotExist"}]}`), &back))
	sel, err := back.Selector()
	require.NoError(t, err)
	assert.Equal(t, "!a", sel.String())
}

func TestLabelSelectorInvalid(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		err   error
		where string
	}{
		{"gt not allowed", `{matchExpressions: [{key: a, operator: Gt, values: ["1"]}]}`, ErrInvalidOperator, "matchExpressions[0]"},
		{"lt not allowed", `{matchExpressions: [{key: a, operator: Lt, values: ["1"]}]}`, ErrInvalidOperator, "matchExpressions[0]"},
		{"equals not allowed", `{matchExpressions: [{key: a, operator: "=", values: [b]}]}`, ErrInvalidOperator, "matchExpressions[0]"},
		{"lower case", `{matchExpressions: [{key: a, operator: in, values: [b]}]}`, ErrInvalidOperator, "matchExpressions[0]"},
		{"missing operator", `{matchExpressions: [{key: a}]}`, ErrInvalidOperator, "matchExpressions[0]"},
		{"operator before key", `{matchExpressions: [{key: "-", operator: Gt}]}`, ErrInvalidOperator, "matchExpressions[0]"},
		{"in without values", `{matchExpressions: [{key: a, operator: Exists}, {key: a, operator: In}]}`, ErrValueCount, "matchExpressions[1]"},
		{"in empty values", `{matchExpressions: [{key: a, operator: NotIn, values: []}]}`, ErrValueCount, "matchExpressions[0]"},
		{"exists with values", `{matchExpressions: [{key: a, operator: Exists, values: [b]}]}`, ErrValueCount, "matchExpressions[0]"},
		{"bad expression key", `{matchExpressions: [{key: "a b", operator: Exists}]}`, ErrInvalidKey, "matchExpressions[0]"},
		{"bad expression value", `{matchExpressions: [{key: a, operator: In, values: ["a b"]}]}`, ErrInvalidValue, "matchExpressions[0]"},
		{"bad label key", `{matchLabels: {"Example.com/a": b}}`, ErrInvalidKey, `matchLabels["Example.com/a"]`},
		{"bad label value", `{matchLabels: {a: "b c"}}`, ErrInvalidValue, `matchLabels["a"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ls LabelSelector
			require.NoError(t, yaml.Unmarshal([]byte(tt.yaml), &ls))
			sel, err := ls.Selector()
			assert.ErrorIs(t, err, tt.err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.where, e.Where)
			assert.True(t, sel.IsEverything())
		})
	}
}

func TestLabelSelectorMatchesParse(t *testing.T) {
	ls := &LabelSelector{
		MatchLabels: map[string]string{"org": "empire", "announced": "bgp"},
		MatchExpressions: []Requirement{
			{Key: "tier", Operator: NotIn, Values: []string{"db"}},
			{Key: "env", Operator: In, Values: []string{"staging", "prod"}},
		},
	}
	sel, err := ls.Selector()
	require.NoError(t, err)
	assert.True(t, sel.Equal(MustParse("org=empire, announced=bgp, tier!=db, env in (prod, staging)")))
}
