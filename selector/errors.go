package selector

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers can classify failures with errors.Is.
var (
	// ErrSyntax reports a selector string that does not follow the grammar.
	ErrSyntax = errors.New("selector: syntax error")
	// ErrInvalidKey reports a label key that is not a Kubernetes qualified name.
	ErrInvalidKey = errors.New("selector: invalid label key")
	// ErrInvalidValue reports a value that is not a valid label value, or a
	// Gt/Lt value that is not a decimal 64-bit integer.
	ErrInvalidValue = errors.New("selector: invalid label value")
	// ErrInvalidOperator reports an operator that is unknown, or not allowed
	// where it is used (LabelSelector accepts only In, NotIn, Exists and
	// DoesNotExist).
	ErrInvalidOperator = errors.New("selector: invalid operator")
	// ErrValueCount reports a requirement with the wrong number of values for
	// its operator.
	ErrValueCount = errors.New("selector: wrong number of values")
)

// An Error describes why a selector could not be parsed or built. It wraps
// one of the package's sentinel errors (ErrSyntax, ErrInvalidKey, ...).
// Where Kubernetes lists every problem of a requirement, an Error reports
// the first one found.
type Error struct {
	// Input is the string given to Parse; empty for New and LabelSelector.
	Input string
	// Pos is the byte offset in Input where the problem was found, or -1
	// when the error does not come from Parse.
	Pos int
	// Where names the offending requirement outside Parse, e.g.
	// `matchLabels["org"]` or `matchExpressions[1]`; empty in Parse errors.
	Where string
	// Err is the sentinel error that classifies the problem.
	Err error
	// Detail says why, in words.
	Detail string
}

// Error returns the error message: the sentinel's message, then where and
// why, as in
//
//	selector: syntax error: parse "a in (b" at offset 7: found end of input, expected ',' or ')'
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Pos >= 0 {
		b.WriteString(": parse ")
		b.WriteString(strconv.Quote(e.Input))
		b.WriteString(" at offset ")
		b.WriteString(strconv.Itoa(e.Pos))
	}
	if e.Where != "" {
		b.WriteString(": ")
		b.WriteString(e.Where)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }
