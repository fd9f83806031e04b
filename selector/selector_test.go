package selector

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pairs is a Labels that is not a Set, to exercise the generic match path.
type pairs [][2]string

func (p pairs) Lookup(key string) (string, bool) {
	for _, kv := range p {
		if kv[0] == key {
			return kv[1], true
		}
	}
	return "", false
}

func toPairs(s Set) pairs {
	p := pairs{}
	for k, v := range s {
		p = append(p, [2]string{k, v})
	}
	return p
}

func TestMatches(t *testing.T) {
	tests := []struct {
		sel  string
		set  Set
		want bool
	}{
		{"", Set{}, true},
		{"", Set{"x": "y"}, true},
		{"", nil, true},
		// =, ==, in
		{"x=y", Set{"x": "y"}, true},
		{"x=y", Set{"x": "z"}, false},
		{"x=y", Set{}, false},
		{"x==y", Set{"x": "y"}, true},
		{"x=", Set{"x": ""}, true},
		{"x=", Set{}, false},
		{"x in (a,b)", Set{"x": "b"}, true},
		{"x in (a,b)", Set{"x": "c"}, false},
		{"x in (a,b)", Set{"y": "a"}, false},
		{"x in (,a)", Set{"x": ""}, true},
		{"x in (a,b,c,d,e,f,g,h,i,j)", Set{"x": "j"}, true},
		{"x in (a,b,c,d,e,f,g,h,i,j)", Set{"x": "a"}, true},
		{"x in (a,b,c,d,e,f,g,h,i,j)", Set{"x": "k"}, false},
		// !=, notin: absent key matches
		{"x!=y", Set{"x": "y"}, false},
		{"x!=y", Set{"x": "z"}, true},
		{"x!=y", Set{}, true},
		{"x notin (a,b)", Set{"x": "a"}, false},
		{"x notin (a,b)", Set{"x": "c"}, true},
		{"x notin (a,b)", Set{}, true},
		{"x notin (a,b,c,d,e,f,g,h,i,j)", Set{"x": "j"}, false},
		{"x notin (a,b,c,d,e,f,g,h,i,j)", Set{"x": "z"}, true},
		// exists, does not exist
		{"x", Set{"x": ""}, true},
		{"x", Set{"y": "x"}, false},
		{"!x", Set{"y": "x"}, true},
		{"!x", Set{"x": ""}, false},
		// gt, lt
		{"x>1", Set{"x": "2"}, true},
		{"x>1", Set{"x": "1"}, false},
		{"x>1", Set{"x": "-5"}, false},
		{"x>1", Set{"x": "+5"}, true},
		{"x>1", Set{"x": "002"}, true},
		{"x>1", Set{"x": "two"}, false},
		{"x>1", Set{"x": ""}, false},
		{"x>1", Set{"x": "99999999999999999999"}, false},
		{"x>1", Set{}, false},
		{"x<1", Set{"x": "0"}, true},
		{"x<1", Set{"x": "-9223372036854775808"}, true},
		{"x<1", Set{"x": "1"}, false},
		{"x<1", Set{"x": "a"}, false},
		{"x<1", Set{}, false},
		{"x>0,x<10", Set{"x": "5"}, true},
		{"x>0,x<10", Set{"x": "10"}, false},
		// conjunctions
		{"x=y,z=w", Set{"x": "y", "z": "w"}, true},
		{"x=y,z=w", Set{"x": "y", "z": "a"}, false},
		{"x!=y,z!=w", Set{"x": "z", "z": "a"}, true},
		{"notin=in", Set{"notin": "in"}, true},
		{"org=empire,!canary", Set{"org": "empire", "tier": "db"}, true},
		{"org=empire,!canary", Set{"org": "empire", "canary": "true"}, false},
		{"a,!a", Set{"a": "1"}, false},
		{"a,!a", Set{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel := MustParse(tt.sel)
			assert.Equal(t, tt.want, sel.Matches(tt.set), "Set %v", tt.set)
			assert.Equal(t, tt.want, sel.Matches(toPairs(tt.set)), "pairs %v", tt.set)
		})
	}
}

func TestZeroAndNothing(t *testing.T) {
	var zero Selector
	assert.True(t, zero.IsEverything())
	assert.False(t, zero.IsNothing())
	assert.True(t, zero.Matches(nil))
	assert.True(t, zero.Matches(Set{"a": "b"}))
	assert.Equal(t, "", zero.String())
	assert.Nil(t, zero.Requirements())
	assert.True(t, zero.Equal(Everything()))
	assert.True(t, zero.Equal(MustParse("")))

	nothing := Nothing()
	assert.False(t, nothing.IsEverything())
	assert.True(t, nothing.IsNothing())
	assert.False(t, nothing.Matches(nil))
	assert.False(t, nothing.Matches(Set{}))
	assert.False(t, nothing.Matches(Set{"a": "b"}))
	assert.Equal(t, "<nothing>", nothing.String())
	assert.Nil(t, nothing.Requirements())
	assert.False(t, nothing.Equal(zero))
	assert.True(t, nothing.Equal(Nothing()))
	_, err := Parse(nothing.String())
	assert.ErrorIs(t, err, ErrSyntax)

	assert.False(t, MustParse("a").IsEverything())
}

func TestEqual(t *testing.T) {
	same := [][]string{
		{"a=b", "a==b", "a in (b)", "a in (b,b)", " a = b ,a=b"},
		{"a!=b", "a notin (b)", "a notin (b, b)"},
		{"a in (x,y),c", "c,a in (y,x)", "a in (y,x,x),c,c"},
		{"a>5", "a>05", "a>005"},
		{"", " "},
	}
	for i, group := range same {
		for _, s := range group {
			assert.True(t, MustParse(group[0]).Equal(MustParse(s)), "%q vs %q", group[0], s)
			for j, other := range same {
				if j != i {
					assert.False(t, MustParse(s).Equal(MustParse(other[0])), "%q vs %q", s, other[0])
				}
			}
		}
	}
	assert.False(t, MustParse("a>5").Equal(MustParse("a<5")))
	assert.False(t, MustParse("a>5").Equal(MustParse("a>6")))
	assert.False(t, MustParse("a").Equal(MustParse("!a")))
}

func TestNew(t *testing.T) {
	sel, err := New(map[string]string{"org": "empire", "tier": ""},
		Requirement{Key: "env", Operator: In, Values: []string{"prod", "staging"}},
		Requirement{Key: "zone", Operator: NotEquals, Values: []string{"b"}},
		Requirement{Key: "app", Operator: DoubleEquals, Values: []string{"web"}},
		Requirement{Key: "canary", Operator: DoesNotExist},
		Requirement{Key: "replicas", Operator: Gt, Values: []string{"2"}},
		Requirement{Key: "replicas", Operator: Lt, Values: []string{"10"}},
		Requirement{Key: "team", Operator: Exists},
		Requirement{Key: "cost", Operator: NotIn, Values: []string{"high", "extreme"}},
		Requirement{Key: "x", Operator: Equals, Values: []string{"y"}},
	)
	require.NoError(t, err)
	assert.Equal(t, "app=web,!canary,cost notin (extreme,high),env in (prod,staging),"+
		"org=empire,replicas>2,replicas<10,team,tier=,x=y,zone!=b", sel.String())
	assert.True(t, sel.Equal(MustParse(sel.String())))

	empty, err := New(nil)
	require.NoError(t, err)
	assert.True(t, empty.IsEverything())
	empty, err = New(Set{})
	require.NoError(t, err)
	assert.True(t, empty.IsEverything())

	fromSet := MustNew(Set{"org": "empire"})
	assert.True(t, fromSet.Equal(MustParse("org=empire")))
}

func TestNewInvalid(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		reqs   []Requirement
		err    error
		where  string
	}{
		{"label key", map[string]string{"ok": "1", "b@d": "x"}, nil, ErrInvalidKey, `matchLabels["b@d"]`},
		{"label empty key", map[string]string{"": "x"}, nil, ErrInvalidKey, `matchLabels[""]`},
		{"label value", map[string]string{"a": "-x"}, nil, ErrInvalidValue, `matchLabels["a"]`},
		{"first label in key order", map[string]string{"b": "-x", "a": "-y"}, nil, ErrInvalidValue, `matchLabels["a"]`},
		{"labels before requirements", map[string]string{"a": "-x"},
			[]Requirement{{Key: "-", Operator: Exists}}, ErrInvalidValue, `matchLabels["a"]`},
		{"requirement key", nil, []Requirement{{Key: "a", Operator: Exists}, {Key: "A/b", Operator: Exists}},
			ErrInvalidKey, "requirement[1]"},
		{"key before operator", nil, []Requirement{{Key: "", Operator: "bogus"}}, ErrInvalidKey, "requirement[0]"},
		{"unknown operator", nil, []Requirement{{Key: "a", Operator: "in"}}, ErrInvalidOperator, "requirement[0]"},
		{"empty operator", nil, []Requirement{{Key: "a"}}, ErrInvalidOperator, "requirement[0]"},
		{"in no values", nil, []Requirement{{Key: "a", Operator: In}}, ErrValueCount, "requirement[0]"},
		{"notin no values", nil, []Requirement{{Key: "a", Operator: NotIn, Values: []string{}}}, ErrValueCount, "requirement[0]"},
		{"equals two values", nil, []Requirement{{Key: "a", Operator: Equals, Values: []string{"a", "b"}}}, ErrValueCount, "requirement[0]"},
		{"double equals none", nil, []Requirement{{Key: "a", Operator: DoubleEquals}}, ErrValueCount, "requirement[0]"},
		{"not equals none", nil, []Requirement{{Key: "a", Operator: NotEquals}}, ErrValueCount, "requirement[0]"},
		{"exists with value", nil, []Requirement{{Key: "a", Operator: Exists, Values: []string{""}}}, ErrValueCount, "requirement[0]"},
		{"does not exist with value", nil, []Requirement{{Key: "a", Operator: DoesNotExist, Values: []string{"x"}}}, ErrValueCount, "requirement[0]"},
		{"gt none", nil, []Requirement{{Key: "a", Operator: Gt}}, ErrValueCount, "requirement[0]"},
		{"lt two", nil, []Requirement{{Key: "a", Operator: Lt, Values: []string{"1", "2"}}}, ErrValueCount, "requirement[0]"},
		{"gt not integer", nil, []Requirement{{Key: "a", Operator: Gt, Values: []string{"x"}}}, ErrInvalidValue, "requirement[0]"},
		{"lt negative", nil, []Requirement{{Key: "a", Operator: Lt, Values: []string{"-1"}}}, ErrInvalidValue, "requirement[0]"},
		{"in bad value", nil, []Requirement{{Key: "a", Operator: In, Values: []string{"ok", "not ok"}}}, ErrInvalidValue, "requirement[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := New(tt.labels, tt.reqs...)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.where, e.Where)
			assert.Equal(t, -1, e.Pos)
			assert.Contains(t, err.Error(), tt.where)
			assert.True(t, sel.IsEverything())
			assert.Panics(t, func() { MustNew(tt.labels, tt.reqs...) })
		})
	}
}

func TestImmutable(t *testing.T) {
	labels := map[string]string{"org": "empire"}
	reqs := []Requirement{{Key: "env", Operator: In, Values: []string{"prod", "dev"}}}
	sel := MustNew(labels, reqs...)
	want := sel.String()

	labels["org"] = "rebels"
	labels["new"] = "x"
	reqs[0].Values[0] = "hacked"
	reqs[0].Key = "other"
	assert.Equal(t, want, sel.String(), "New copies its arguments")

	got := sel.Requirements()
	got[0].Values[0] = "hacked"
	got[1].Key = "hacked"
	assert.Equal(t, want, sel.String(), "Requirements returns a copy")
	assert.True(t, sel.Matches(Set{"org": "empire", "env": "dev"}))
}

func TestConcurrentMatches(t *testing.T) {
	sel := MustParse("org=empire,env in (prod,staging),!canary,replicas>2")
	match := Set{"org": "empire", "env": "prod", "replicas": "3"}
	miss := Set{"org": "empire", "env": "dev"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if !sel.Matches(match) || sel.Matches(miss) || sel.String() == "" {
					t.Error("concurrent use changed the result")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	sel := MustParse("org=empire,env in (prod,staging,a,b,c,d,e,f,g,h),!canary,replicas>2,tier!=db")
	set := tenLabels()
	p := toPairs(set)
	bad := Set{"org": "empire", "env": "prod", "replicas": "many"}
	for name, l := range map[string]Labels{"Set": set, "pairs": p, "bad int": bad} {
		allocs := testing.AllocsPerRun(100, func() { sel.Matches(l) })
		assert.Zero(t, allocs, name)
	}
}

func TestRequirementString(t *testing.T) {
	assert.Equal(t, "a in (b,c)", Requirement{Key: "a", Operator: In, Values: []string{"c", "b", "c"}}.String())
	assert.Equal(t, "a!=b", Requirement{Key: "a", Operator: NotEquals, Values: []string{"b"}}.String())
	assert.Equal(t, "!a", Requirement{Key: "a", Operator: DoesNotExist}.String())
	assert.Equal(t, "a>7", Requirement{Key: "a", Operator: Gt, Values: []string{"007"}}.String())
	assert.Equal(t, `a In []`, Requirement{Key: "a", Operator: In}.String(), "invalid requirements print raw")
}

func TestGoString(t *testing.T) {
	assert.Equal(t, `selector.MustParse("a=b,!c")`, MustParse("!c,a==b").GoString())
	assert.Equal(t, `selector.Nothing()`, Nothing().GoString())
}

// tenLabels returns the 10-label set of the benchmarks.
func tenLabels() Set {
	return Set{
		"org": "empire", "env": "prod", "replicas": "3", "tier": "web",
		"app.kubernetes.io/name": "deathstar", "app.kubernetes.io/part-of": "fleet",
		"announced": "bgp", "zone": "a", "team": "ops", "version": "v1.2.3",
	}
}

func TestSetLookup(t *testing.T) {
	var l Labels = Set{"a": "b", "empty": ""}
	v, ok := l.Lookup("a")
	assert.True(t, ok)
	assert.Equal(t, "b", v)
	v, ok = l.Lookup("empty")
	assert.True(t, ok)
	assert.Equal(t, "", v)
	_, ok = l.Lookup("missing")
	assert.False(t, ok)
	_, ok = Set(nil).Lookup("a")
	assert.False(t, ok)
}

func TestEqualIsStructural(t *testing.T) {
	a, b := MustParse("a,a=b"), MustParse("a=b")
	for _, set := range []Set{{}, {"a": "b"}, {"a": "c"}} {
		assert.Equal(t, a.Matches(set), b.Matches(set))
	}
	assert.False(t, a.Equal(b))
}
