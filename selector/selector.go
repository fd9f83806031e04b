package selector

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// A Selector is a conjunction of requirements on labels. It is an immutable
// value, safe for concurrent use and cheap to copy.
//
// The zero Selector has no requirements and matches every label set;
// Nothing returns one that matches none. Selectors are not comparable with
// ==; use Equal.
type Selector struct {
	terms   []term // canonical: sorted by compareTerms, no duplicates
	nothing bool
}

// Everything returns the zero Selector, which matches every label set.
func Everything() Selector { return Selector{} }

// Nothing returns a Selector that matches no label set, not even an empty
// one. It is what a nil *LabelSelector converts to.
func Nothing() Selector { return Selector{nothing: true} }

// New returns the Selector that requires every label in matchLabels (key
// equals value) and every requirement in exprs, validated as Kubernetes
// validates label selectors. With no labels and no requirements it returns
// the zero Selector, which matches everything.
//
// Requirements may use any Operator, including Gt, Lt and the Equals,
// DoubleEquals and NotEquals forms. The error is an *Error naming the first
// invalid entry, as `matchLabels["key"]` (checked in key order) or
// `requirement[i]`.
func New(matchLabels map[string]string, exprs ...Requirement) (Selector, error) {
	return build(matchLabels, exprs, "requirement", false)
}

// MustNew is like New but panics if the selector is invalid. It simplifies
// initialization of global variables and tests.
func MustNew(matchLabels map[string]string, exprs ...Requirement) Selector {
	s, err := New(matchLabels, exprs...)
	if err != nil {
		panic(err)
	}
	return s
}

// build validates and canonicalizes a selector. exprName names the
// requirements in errors; if labelSelector is set, only the four
// metav1.LabelSelector operators are allowed in exprs.
func build(matchLabels map[string]string, exprs []Requirement, exprName string, labelSelector bool) (Selector, error) {
	terms := make([]term, 0, len(matchLabels)+len(exprs))
	for _, k := range slices.Sorted(maps.Keys(matchLabels)) {
		t, p := compile(Requirement{Key: k, Operator: Equals, Values: []string{matchLabels[k]}})
		if p != nil {
			return Selector{}, p.error(fmt.Sprintf("matchLabels[%q]", k))
		}
		terms = append(terms, t)
	}
	for i, r := range exprs {
		where := fmt.Sprintf("%s[%d]", exprName, i)
		if labelSelector && !isLabelSelectorOp(r.Operator) {
			return Selector{}, (&problem{ErrInvalidOperator, fmt.Sprintf(
				"%q is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)",
				string(r.Operator)), -1}).error(where)
		}
		t, p := compile(r)
		if p != nil {
			return Selector{}, p.error(where)
		}
		terms = append(terms, t)
	}
	return fromTerms(terms), nil
}

func isLabelSelectorOp(op Operator) bool {
	return op == In || op == NotIn || op == Exists || op == DoesNotExist
}

// error returns p as an *Error outside Parse.
func (p *problem) error(where string) *Error {
	return &Error{Pos: -1, Where: where, Err: p.err, Detail: p.detail}
}

// fromTerms sorts and deduplicates terms into a Selector, taking ownership.
func fromTerms(terms []term) Selector {
	if len(terms) == 0 {
		return Selector{}
	}
	slices.SortFunc(terms, compareTerms)
	terms = slices.CompactFunc(terms, func(a, b term) bool { return compareTerms(a, b) == 0 })
	return Selector{terms: slices.Clip(terms)}
}

// Matches reports whether l satisfies every requirement of s. A nil l is an
// empty label set. Matches does not allocate (unless l.Lookup does), and
// makes one lookup per requirement, reading a Set directly.
func (s Selector) Matches(l Labels) bool {
	if s.nothing {
		return false
	}
	set, isSet := l.(Set)
	if isSet || l == nil {
		l = nil // direct map access: no dynamic call per requirement
	}
	for i := range s.terms {
		t := &s.terms[i]
		var v string
		var ok bool
		if l == nil {
			v, ok = set[t.key]
		} else {
			v, ok = l.Lookup(t.key)
		}
		var r bool
		switch t.test {
		case testOne:
			r = ok && v == t.one
		case testPresent:
			r = ok
		case testFew:
			for _, w := range t.values {
				if w == v {
					r = ok
					break
				}
			}
		default:
			r = t.matchesRare(v, ok)
		}
		if r != t.want {
			return false
		}
	}
	return true
}

// IsEverything reports whether s is Everything(), the zero Selector: it has
// no requirements and matches every label set.
func (s Selector) IsEverything() bool { return !s.nothing && len(s.terms) == 0 }

// IsNothing reports whether s is Nothing(), the Selector matching no set.
func (s Selector) IsNothing() bool { return s.nothing }

// Requirements returns the canonical requirements of s, sorted by key (and
// then operator and values). The caller owns the returned slice. The zero
// Selector and Nothing() both return none; tell them apart with IsEverything
// or IsNothing.
func (s Selector) Requirements() []Requirement {
	if len(s.terms) == 0 {
		return nil
	}
	rs := make([]Requirement, len(s.terms))
	for i := range s.terms {
		rs[i] = s.terms[i].requirement()
	}
	return rs
}

// Equal reports whether s and t are the same selector: the same canonical
// requirements, or both Nothing(). Selectors that differ only in spelling
// ("a=b" and "a in (b)", reordered or repeated requirements) are equal.
// Equal does not decide logical equivalence: "a,a=b" and "a=b" match the
// same sets but are not Equal.
func (s Selector) Equal(t Selector) bool {
	return s.nothing == t.nothing && slices.EqualFunc(s.terms, t.terms,
		func(a, b term) bool { return compareTerms(a, b) == 0 })
}

// nothingString is what Nothing().String() returns. The string syntax
// cannot express a selector that matches nothing, so Parse rejects it.
const nothingString = "<nothing>"

// String returns s in canonical string syntax: requirements sorted by key,
// values sorted, "=" and "!=" for single values, "in"/"notin" for more.
// Parse(s.String()) returns a selector Equal to s, except for Nothing(),
// whose String is "<nothing>", which Parse rejects. The zero Selector's
// String is "".
func (s Selector) String() string {
	if s.nothing {
		return nothingString
	}
	var b []byte
	for i := range s.terms {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.terms[i].appendTo(b)
	}
	return string(b)
}

// GoString returns a Go expression for s, for %#v.
func (s Selector) GoString() string {
	if s.nothing {
		return "selector.Nothing()"
	}
	return "selector.MustParse(" + strconv.Quote(s.String()) + ")"
}
