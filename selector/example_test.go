package selector_test

import (
	"errors"
	"fmt"

	"github.com/lbkit/lbkit/selector"
	"sigs.k8s.io/yaml"
)

// The reference scenario: a pool selects services labelled org=empire and
// BGP advertises only services labelled announced=bgp.
func Example() {
	pool := selector.MustParse("org=empire")
	bgp := selector.MustParse("announced=bgp")

	deathstar := selector.Set{"org": "empire", "announced": "bgp"}
	xwing := selector.Set{"org": "rebels"}

	fmt.Println(pool.Matches(deathstar), bgp.Matches(deathstar))
	fmt.Println(pool.Matches(xwing), bgp.Matches(xwing))
	// Output:
	// true true
	// false false
}

func ExampleParse() {
	sel, err := selector.Parse("tier notin (db,cache), org==empire, !canary, env in (prod, staging), replicas>2")
	if err != nil {
		panic(err)
	}
	fmt.Println(sel) // canonical form
	fmt.Println(sel.Matches(selector.Set{"org": "empire", "env": "prod", "replicas": "3"}))
	fmt.Println(sel.Matches(selector.Set{"org": "empire", "env": "prod", "replicas": "3", "tier": "db"}))
	// Output:
	// !canary,env in (prod,staging),org=empire,replicas>2,tier notin (cache,db)
	// true
	// false
}

func ExampleParse_error() {
	_, err := selector.Parse("org=empire,tier in (web")
	fmt.Println(err)
	fmt.Println(errors.Is(err, selector.ErrSyntax))

	_, err = selector.Parse("Org.io/team=x")
	fmt.Println(errors.Is(err, selector.ErrInvalidKey))
	// Output:
	// selector: syntax error: parse "org=empire,tier in (web" at offset 23: found end of input, expected ',' or ')'
	// true
	// true
}

func ExampleNew() {
	sel, err := selector.New(selector.Set{"org": "empire"},
		selector.Requirement{Key: "tier", Operator: selector.In, Values: []string{"web", "api"}},
		selector.Requirement{Key: "canary", Operator: selector.DoesNotExist},
	)
	if err != nil {
		panic(err)
	}
	fmt.Println(sel)
	for _, r := range sel.Requirements() {
		fmt.Println(r.Key, r.Operator, r.Values)
	}
	// Output:
	// !canary,org=empire,tier in (api,web)
	// canary DoesNotExist []
	// org In [empire]
	// tier In [api web]
}

func ExampleLabelSelector_Selector() {
	// A pool manifest written for Kubernetes.
	const manifest = `
name: empire-ip-pool
serviceSelector:
  matchLabels:
    org: empire
  matchExpressions:
  - {key: tier, operator: NotIn, values: [db]}
`
	var pool struct {
		Name            string                  `json:"name"`
		ServiceSelector *selector.LabelSelector `json:"serviceSelector"`
	}
	if err := yaml.Unmarshal([]byte(manifest), &pool); err != nil {
		panic(err)
	}
	sel, err := pool.ServiceSelector.Selector()
	if err != nil {
		panic(err)
	}
	fmt.Println(pool.Name, sel)
	fmt.Println(sel.Matches(selector.Set{"org": "empire"}))

	// As in Kubernetes, a nil *LabelSelector selects nothing and an empty
	// one selects everything.
	var missing *selector.LabelSelector
	none, _ := missing.Selector()
	all, _ := (&selector.LabelSelector{}).Selector()
	fmt.Println(none.Matches(selector.Set{}), all.Matches(selector.Set{}))
	// Output:
	// empire-ip-pool org=empire,tier!=db
	// true
	// false true
}

func ExampleSelector_Equal() {
	a := selector.MustParse("env in (prod), tier!=db")
	b := selector.MustParse("tier notin (db),env==prod")
	fmt.Println(a.Equal(b), a.String() == b.String())
	// Output:
	// true true
}

func ExampleNothing() {
	var everything selector.Selector // the zero value
	nothing := selector.Nothing()
	fmt.Println(everything.Matches(selector.Set{"a": "b"}), everything.IsEverything())
	fmt.Println(nothing.Matches(selector.Set{"a": "b"}), nothing.IsEverything())
	// Output:
	// true true
	// false false
}
