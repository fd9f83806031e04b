package selector

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors are well formed,
// and that whatever parses round-trips through String and matches as the
// reference model says.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "org=empire", "x in (foo,,baz),y,z notin ()", "!a,b!=c,d>5,e<7", "a in (,)",
		"k8s.io/app==web", "in in (in),notin", "x=a||y=b", "a in (b,,)", "!a=b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := Parse(s)
		if err != nil {
			checkParseError(t, s, err)
			return
		}
		text := sel.String()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, text, err)
		}
		if !again.Equal(sel) || again.String() != text {
			t.Fatalf("round trip of %q: %q became %q", s, text, again.String())
		}
		reqs := sel.Requirements()
		built, err := New(nil, reqs...)
		if err != nil || !built.Equal(sel) {
			t.Fatalf("New(Requirements of %q) = %q, %v", text, built, err)
		}
		for _, set := range setsFor(reqs) {
			if got, want := sel.Matches(set), modelMatches(reqs, set); got != want {
				t.Fatalf("%q.Matches(%v) = %v, model says %v", text, set, got, want)
			}
		}
	})
}

func checkParseError(t *testing.T, s string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%q) error %T is not *Error: %v", s, err, err)
	}
	if e.Pos < 0 || e.Pos > len(s) || e.Input != s {
		t.Fatalf("Parse(%q) error has bad position %d: %v", s, e.Pos, err)
	}
	known := false
	for _, sentinel := range []error{ErrSyntax, ErrInvalidKey, ErrInvalidValue, ErrValueCount} {
		known = known || errors.Is(err, sentinel)
	}
	if !known {
		t.Fatalf("Parse(%q) error wraps no sentinel: %v", s, err)
	}
}

// setsFor returns label sets that exercise reqs: empty, and each key set to
// each of its requirement's values, to neighbours of Gt/Lt bounds, or to "".
func setsFor(reqs []Requirement) []Set {
	sets := []Set{{}}
	all := Set{}
	for _, r := range reqs {
		vals := append([]string{""}, r.Values...)
		if r.Operator == Gt || r.Operator == Lt {
			vals = append(vals, r.Values[0]+"0", "0"+r.Values[0], "-1")
		}
		for _, v := range vals {
			sets = append(sets, Set{r.Key: v})
			all[r.Key] = v
		}
	}
	return append(sets, all)
}
