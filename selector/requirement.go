package selector

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A Requirement is one condition of a selector: Key, related by Operator to
// Values. Its JSON form is that of a Kubernetes LabelSelectorRequirement.
//
// A Requirement is plain data; New and LabelSelector.Selector validate it.
// Requirements returned by Selector.Requirements are canonical: Equals and
// DoubleEquals appear as In, NotEquals as NotIn, values sorted without
// duplicates, a Gt or Lt value in plain decimal form.
type Requirement struct {
	Key      string   `json:"key"`
	Operator Operator `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// String returns r in the string syntax, in canonical form if r is valid.
func (r Requirement) String() string {
	t, p := compile(r)
	if p != nil {
		return fmt.Sprintf("%s %s %q", r.Key, r.Operator, r.Values)
	}
	return string(t.appendTo(nil))
}

// A term is a validated, canonical requirement, ready to match.
//
// Matching reduces every operator to one test on the label's value, whose
// outcome must equal want: In and NotIn with one value test v == one, with
// more test membership in values; Exists and DoesNotExist test presence;
// Gt and Lt compare integers. The fields the match loop reads come first.
type term struct {
	key    string
	test   test
	want   bool     // false for NotIn and DoesNotExist
	op     opcode   // the canonical operator
	one    string   // testOne: the single value
	values []string // In, NotIn: sorted, without duplicates; otherwise nil
	num    int64    // Gt, Lt: the bound
}

// test is what a term checks about a label.
type test uint8

const (
	testOne     test = iota // present, with value one
	testFew                 // present, with a value in values (scanned)
	testMany                // present, with a value in values (searched)
	testPresent             // present
	testInt                 // present, an integer, and Gt or Lt num
)

// newTerm returns the term for key, op, values (canonical) and num.
func newTerm(key string, op opcode, values []string, num int64) term {
	t := term{key: key, op: op, values: values, num: num, want: true}
	switch op {
	case opExists, opDoesNotExist:
		t.test, t.want = testPresent, op == opExists
	case opIn, opNotIn:
		t.test, t.want = testFew, op == opIn
		switch {
		case len(values) == 1:
			t.test, t.one = testOne, values[0]
		case len(values) > linearMax:
			t.test = testMany
		}
	default:
		t.test = testInt
	}
	return t
}

// A problem is a validation failure of one requirement.
type problem struct {
	err    error  // sentinel
	detail string // why
	value  int    // index in Values of the offending value, or -1
}

// compile validates r as Kubernetes' NewRequirement does, in the same order
// (key, operator, value count, integers, label values), and returns its
// canonical term or the first problem found.
func compile(r Requirement) (term, *problem) {
	if why := validateKey(r.Key); why != "" {
		return term{}, &problem{ErrInvalidKey, fmt.Sprintf("%q: %s", r.Key, why), -1}
	}
	op, ok := opcodeOf(r.Operator)
	if !ok {
		return term{}, &problem{ErrInvalidOperator, fmt.Sprintf("%q is not one of "+
			"In, NotIn, Exists, DoesNotExist, Gt, Lt, =, ==, !=", string(r.Operator)), -1}
	}
	if why := checkCount(r.Operator, len(r.Values)); why != "" {
		return term{}, &problem{ErrValueCount, why, -1}
	}
	var num int64
	if op == opGt || op == opLt {
		n, err := strconv.ParseInt(r.Values[0], 10, 64)
		if err != nil {
			return term{}, &problem{ErrInvalidValue, fmt.Sprintf("%q: for Gt and Lt, "+
				"the value must be a decimal 64-bit integer", r.Values[0]), 0}
		}
		num = n
	}
	for i, v := range r.Values {
		if why := validateValue(v); why != "" {
			return term{}, &problem{ErrInvalidValue, fmt.Sprintf("%q: %s", v, why), i}
		}
	}
	var values []string
	if op == opIn || op == opNotIn {
		values = slices.Clone(r.Values)
		slices.Sort(values)
		values = slices.Clip(slices.Compact(values))
	}
	return newTerm(r.Key, op, values, num), nil
}

// checkCount reports why n values do not suit op, or "".
func checkCount(op Operator, n int) string {
	switch op {
	case In, NotIn:
		if n == 0 {
			return "for In and NotIn, at least one value is required"
		}
	case Equals, DoubleEquals, NotEquals:
		if n != 1 {
			return fmt.Sprintf("for %s, exactly one value is required, got %d", op, n)
		}
	case Exists, DoesNotExist:
		if n != 0 {
			return fmt.Sprintf("for %s, values must be empty, got %d", op, n)
		}
	case Gt, Lt:
		if n != 1 {
			return fmt.Sprintf("for %s, exactly one value is required, got %d", op, n)
		}
	}
	return ""
}

// requirement returns t as a Requirement sharing no memory with t.
func (t *term) requirement() Requirement {
	r := Requirement{Key: t.key, Operator: t.op.operator()}
	switch t.op {
	case opIn, opNotIn:
		r.Values = slices.Clone(t.values)
	case opGt, opLt:
		r.Values = []string{strconv.FormatInt(t.num, 10)}
	}
	return r
}

// matchesRare returns the outcome of t's test on a label with value v,
// present if ok, for the tests Matches does not decide inline: values
// searched in a long list, and integer comparisons.
func (t *term) matchesRare(v string, ok bool) bool {
	if t.test == testMany {
		_, found := slices.BinarySearch(t.values, v)
		return ok && found
	}
	return ok && t.compare(v)
}

// compare reports whether v is an integer that satisfies t's Gt or Lt.
func (t *term) compare(v string) bool {
	n, ok := parseInt(v)
	if t.op == opGt {
		return ok && n > t.num
	}
	return ok && n < t.num
}

// linearMax is the number of values up to which matching scans instead of
// searching: short scans beat binary search on the usual two or three values.
const linearMax = 8

// appendTo appends t in canonical string syntax to b.
func (t *term) appendTo(b []byte) []byte {
	if t.op == opDoesNotExist {
		b = append(b, '!')
	}
	b = append(b, t.key...)
	switch t.op {
	case opIn, opNotIn:
		return appendValues(b, t.op == opNotIn, t.values)
	case opGt:
		return strconv.AppendInt(append(b, '>'), t.num, 10)
	case opLt:
		return strconv.AppendInt(append(b, '<'), t.num, 10)
	}
	return b
}

// appendValues appends the operator and values of an In (or NotIn, if not)
// term: `=v` or ` in (a,b)` (`!=v`, ` notin (a,b)`).
func appendValues(b []byte, not bool, values []string) []byte {
	if len(values) == 1 {
		if not {
			b = append(b, '!')
		}
		return append(append(b, '='), values[0]...)
	}
	if not {
		b = append(b, " notin ("...)
	} else {
		b = append(b, " in ("...)
	}
	b = append(b, strings.Join(values, ",")...)
	return append(b, ')')
}

// compareTerms orders terms by key, then opcode, then values, then bound.
func compareTerms(a, b term) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	if a.op != b.op {
		return int(a.op) - int(b.op)
	}
	if c := slices.Compare(a.values, b.values); c != 0 {
		return c
	}
	switch {
	case a.num < b.num:
		return -1
	case a.num > b.num:
		return 1
	}
	return 0
}
