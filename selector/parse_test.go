package selector

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseValid(t *testing.T) {
	name63 := strings.Repeat("n", 63)
	prefix253 := strings.Repeat(strings.Repeat("p", 62)+".", 4)[:252] + "p"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only whitespace", " \t\r\n ", ""},
		{"equals", "org=empire", "org=empire"},
		{"double equals", "org==empire", "org=empire"},
		{"equals spaced", " org = empire ", "org=empire"},
		{"not equals", "tier!=db", "tier!=db"},
		{"in", "env in (prod, staging)", "env in (prod,staging)"},
		{"in unsorted duplicates", "env in (staging,prod,prod)", "env in (prod,staging)"},
		{"in one value", "env in (prod)", "env=prod"},
		{"in no space before paren", "env in(prod,dev)", "env in (dev,prod)"},
		{"in tabs and newlines", "env\tin\n(\rprod\t,\ndev\t)", "env in (dev,prod)"},
		{"notin one value", "env notin (dev)", "env!=dev"},
		{"notin", "env notin (qa, dev)", "env notin (dev,qa)"},
		{"exists", "canary", "canary"},
		{"does not exist", "!canary", "!canary"},
		{"does not exist spaced", " ! canary ", "!canary"},
		{"gt", "replicas>3", "replicas>3"},
		{"lt", "replicas<3", "replicas<3"},
		{"gt spaced", "replicas > 3", "replicas>3"},
		{"gt leading zeros", "replicas>003", "replicas>3"},
		{"gt max int64", "r>9223372036854775807", "r>9223372036854775807"},
		{"gt lt", "x>1,z<5", "x>1,z<5"},
		{"several sorted", "x=a,y=b,z=c", "x=a,y=b,z=c"},
		{"several unsorted", "z=c,y=b,x=a", "x=a,y=b,z=c"},
		{"kubernetes mixed", "x!=a,y=b", "x!=a,y=b"},
		{"empty value", "x=", "x="},
		{"empty value space", "x= ", "x="},
		{"empty values", "x=,z= ", "x=,z="},
		{"empty values spaced", "x= ,z= ", "x=,z="},
		{"empty double equals", "x==", "x="},
		{"empty not equals", "x!=", "x!="},
		{"in empty set", "x in ()", "x="},
		{"in comma only", "x in (,)", "x="},
		{"in leading comma", "x in (,a)", "x in (,a)"},
		{"in trailing comma", "x in (a,)", "x in (,a)"},
		{"in double comma", "x in (a,,b)", "x in (,a,b)"},
		// Empty values anywhere between commas, as Kubernetes' labels.Parse
		// (apimachinery v0.37) accepts them: each set also holds "".
		{"in trailing double comma", "x in (a,,)", "x in (,a)"},
		{"in many trailing commas", "x in (a,,,,,,)", "x in (,a)"},
		{"in repeated value double commas", "x in (a,,a,,a,,a,,)", "x in (,a)"},
		{"in commas only", "x in (,,)", "x="},
		{"notin commas only", "x notin (,,,)", "x!="},
		{"notin empty set", "x notin ()", "x!="},
		{"kubernetes doc example", "x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z!="},
		{"repeated requirement", "a,a", "a"},
		{"equal spellings merge", "a=b,a in (b),a==b", "a=b"},
		{"contradiction kept", "a=b,a=c", "a=b,a=c"},
		{"exists and not", "!a,a", "a,!a"},
		{"same key operator order", "a<5,a>1,a!=3,a in (2,3),!a,a", "a,!a,a in (2,3),a!=3,a>1,a<5"},
		{"keywords as key and value", "in=notin", "in=notin"},
		{"keywords in set", "notin in (in,notin)", "notin in (in,notin)"},
		{"keyword exists", "in,!notin", "in,!notin"},
		{"prefixed key", "k8s.io/app=web", "k8s.io/app=web"},
		{"all characters", "ex-1.com/a.B_c-D=E.f_g-9", "ex-1.com/a.B_c-D=E.f_g-9"},
		{"spaces around commas", "a=b  ,  c", "a=b,c"},
		{"longest name", name63, name63},
		{"longest prefix", prefix253 + "/n", prefix253 + "/n"},
		{"longest value", "a=" + name63, "a=" + name63},
		{"numeric key", "0=1", "0=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Parse(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, sel.String())
			again, err := Parse(sel.String())
			require.NoError(t, err)
			assert.True(t, sel.Equal(again), "round trip of %q", sel.String())
		})
	}
}

func TestParseRequirements(t *testing.T) {
	sel := MustParse("tier notin (db, cache), org==empire, !canary, replicas>03, env in (prod,,dev), team")
	assert.Equal(t, []Requirement{
		{Key: "canary", Operator: DoesNotExist},
		{Key: "env", Operator: In, Values: []string{"", "dev", "prod"}},
		{Key: "org", Operator: In, Values: []string{"empire"}},
		{Key: "replicas", Operator: Gt, Values: []string{"3"}},
		{Key: "team", Operator: Exists},
		{Key: "tier", Operator: NotIn, Values: []string{"cache", "db"}},
	}, sel.Requirements())
}

func TestParseInvalid(t *testing.T) {
	long := strings.Repeat("x", 64)
	tests := []struct {
		name, in string
		err      error
		pos      int
	}{
		// Syntax.
		{"nothing marker", "<nothing>", ErrSyntax, 0},
		{"leading comma", ",x", ErrSyntax, 0},
		{"trailing comma", "x=a,", ErrSyntax, 4},
		{"trailing comma exists", "a,", ErrSyntax, 2},
		{"double comma", "a,,b", ErrSyntax, 2},
		{"operator first", "=a", ErrSyntax, 0},
		{"bang alone", "!", ErrSyntax, 1},
		{"double bang", "!!a", ErrSyntax, 1},
		{"not with value", "!a=b", ErrSyntax, 2},
		{"not with set", "!a in (b)", ErrSyntax, 3},
		{"double equals twice", "x==a==b", ErrSyntax, 4},
		{"equals twice", "a=b=c", ErrSyntax, 3},
		{"gt twice", "a>1>2", ErrSyntax, 3},
		{"missing operator", "a b", ErrSyntax, 2},
		{"bang as operator", "a!b", ErrSyntax, 1},
		{"missing comma", "a=b c", ErrSyntax, 4},
		{"in without set", "x in a", ErrSyntax, 5},
		{"in dot", "x in .", ErrSyntax, 5},
		{"in in", "x in in", ErrSyntax, 5},
		{"in end", "a in", ErrSyntax, 4},
		{"notin end", "a notin", ErrSyntax, 7},
		{"unclosed set", "x in (a", ErrSyntax, 7},
		{"unclosed set two", "x in (a,b", ErrSyntax, 9},
		{"unclosed after comma", "x in (,", ErrSyntax, 7},
		{"set missing comma", "x in (a b)", ErrSyntax, 8},
		{"unclosed after double comma", "x in (a,,", ErrSyntax, 9},
		{"set nested paren", "x in ((a)", ErrSyntax, 6},
		{"set extra paren", "x in (a))", ErrSyntax, 8},
		{"set then garbage", "a in (b) c", ErrSyntax, 9},
		{"set after equals", "x=(a,b)", ErrSyntax, 2},
		{"set after value", "a=in (b)", ErrSyntax, 5},
		{"set operator in set", "a in (b,=)", ErrSyntax, 8},
		// Keys.
		{"key dot", ". in (a)", ErrInvalidKey, 0},
		{"key trailing dot", "x. in (a,b)", ErrInvalidKey, 0},
		{"key leading dash", "-a", ErrInvalidKey, 0},
		{"key trailing dash", "a-=b", ErrInvalidKey, 0},
		{"key bad char", "a@b=c", ErrInvalidKey, 0},
		{"key too long", long + "=a", ErrInvalidKey, 0},
		{"key empty prefix", "/a", ErrInvalidKey, 0},
		{"key empty name", "a/", ErrInvalidKey, 0},
		{"key two slashes", "a/b/c=d", ErrInvalidKey, 0},
		{"key upper prefix", "A.io/b", ErrInvalidKey, 0},
		{"key underscore prefix", "a_b.io/c", ErrInvalidKey, 0},
		{"key empty prefix label", "a..io/c", ErrInvalidKey, 0},
		{"key prefix label dash", "-a.io/c", ErrInvalidKey, 0},
		{"key prefix too long", strings.Repeat("a", 254) + "/c", ErrInvalidKey, 0},
		{"key nul", "a\x00b", ErrInvalidKey, 0},
		{"key nul at end", "a\x00", ErrInvalidKey, 0},
		{"value nul", "a=b\x00", ErrInvalidValue, 2},
		{"nul word as operator", "a \x00 b", ErrSyntax, 2},
		{"nul after comma", "a=b,\x00", ErrInvalidKey, 4},
		{"key after comma", "a, b$", ErrInvalidKey, 3},
		{"key checked before operator", "a$ b", ErrInvalidKey, 0},
		{"key quoted", `"a"=b`, ErrInvalidKey, 0},
		// Values.
		{"value pipes", "x=a||y=b", ErrInvalidValue, 2},
		{"value leading dash", "a=-b", ErrInvalidValue, 2},
		{"value trailing dash", "a = b-", ErrInvalidValue, 4},
		{"value too long", "a=" + long, ErrInvalidValue, 2},
		{"value quoted", `x == "abc"`, ErrInvalidValue, 5},
		{"value in set", "a in (b, -c)", ErrInvalidValue, 9},
		{"value in notin set", "a notin (b,c_)", ErrInvalidValue, 11},
		{"gt not integer", "x<a", ErrInvalidValue, 2},
		{"gt empty", "a>", ErrInvalidValue, 2},
		{"gt empty before comma", "a<1,a>,b", ErrInvalidValue, 6},
		{"gt fraction", "a>1.5", ErrInvalidValue, 2},
		{"gt overflow", "a>9223372036854775808", ErrInvalidValue, 2},
		{"gt negative", "a>-1", ErrInvalidValue, 2},
		{"gt plus", "a>+1", ErrInvalidValue, 2},
		{"gt underscore", "a>1_000", ErrInvalidValue, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Parse(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.in, e.Input)
			assert.Equal(t, tt.pos, e.Pos, "error: %v", err)
			assert.Contains(t, err.Error(), "offset")
			assert.True(t, sel.IsEverything(), "failed Parse returns the zero Selector")
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("env in (prod")
	require.Error(t, err)
	assert.Equal(t, `selector: syntax error: parse "env in (prod" at offset 12: `+
		`found end of input, expected ',' or ')'`, err.Error())

	_, err = Parse("org=empire,Tier_/x=y")
	require.Error(t, err)
	assert.Equal(t, `selector: invalid label key: parse "org=empire,Tier_/x=y" at offset 11: `+
		`"Tier_/x": prefix part must be a DNS-1123 subdomain: lower case alphanumeric characters, `+
		`'-' or '.', starting and ending with an alphanumeric character (e.g. 'example.com')`, err.Error())
}

func TestErrorMessagePrefix(t *testing.T) {
	_, err := New(map[string]string{"a": "-"})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), `selector: invalid label value: matchLabels["a"]: "-": `), "%v", err)
	for _, s := range []string{"a in (", "A/b", "a=-", "a>x"} {
		_, err := Parse(s)
		require.Error(t, err)
		assert.Equal(t, 1, strings.Count(err.Error(), "selector: "), "%v", err)
		assert.True(t, strings.HasPrefix(err.Error(), "selector: "), "%v", err)
	}
}

func TestMustParsePanics(t *testing.T) {
	assert.Panics(t, func() { MustParse("a in (") })
	assert.NotPanics(t, func() { MustParse("a in (b)") })
}

func TestErrorsAreDistinct(t *testing.T) {
	sentinels := []error{ErrSyntax, ErrInvalidKey, ErrInvalidValue, ErrInvalidOperator, ErrValueCount}
	for i, a := range sentinels {
		for j, b := range sentinels {
			assert.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}
