package selector

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse parses a selector in the syntax of kubectl's -l flag and Kubernetes'
// labels.Parse: requirements separated by commas, each one of
//
//	key              the label is present (Exists)
//	!key             the label is absent (DoesNotExist)
//	key=value        the label has this value (also key==value)
//	key!=value       the label is absent or has another value
//	key in (v1,v2)   the label has one of the values
//	key notin (v1)   the label is absent or has none of the values
//	key>n, key<n     the label is a decimal integer greater (less) than n
//
// Whitespace (space, tab, CR, LF) may surround any token. Values may be
// empty: "a=", "a in ()" and "a in (,b)" require the value "". The empty
// string (or only whitespace) is the zero Selector, matching everything.
// Keys and values are validated as Kubernetes does (see the package doc).
//
// Parse accepts exactly the strings Kubernetes accepts, with one deliberate
// difference: Kubernetes' lexer takes a NUL byte for the end of the input
// (ignoring the rest) or, inside a word, for a separator; Parse treats it as
// an ordinary character, which no key or value may contain, so it rejects
// any input with a NUL byte.
//
// The error is an *Error with the byte offset of the offending token,
// wrapping ErrSyntax, ErrInvalidKey or ErrInvalidValue.
func Parse(s string) (Selector, error) {
	p := parser{in: s}
	p.advance()
	if p.tok.kind == tEOF {
		return Selector{}, nil
	}
	if !p.tok.startsRequirement() {
		return Selector{}, p.syntax(p.tok, "'!', key or end of input")
	}
	terms := make([]term, 0, 1+strings.Count(s, ","))
	for {
		t, err := p.requirement()
		if err != nil {
			return Selector{}, err
		}
		terms = append(terms, t)
		switch tok := p.next(); tok.kind {
		case tEOF:
			return fromTerms(terms), nil
		case tComma:
			if !p.tok.startsRequirement() {
				return Selector{}, p.syntax(p.tok, "'!' or key after ','")
			}
		default:
			return Selector{}, p.syntax(tok, "',' or end of input")
		}
	}
}

// MustParse is like Parse but panics if s is invalid. It simplifies
// initialization of global variables and tests.
func MustParse(s string) Selector {
	sel, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // key, value, or the words in and notin
	tNot            // !
	tEq             // =
	tEqEq           // ==
	tNotEq          // !=
	tGt             // >
	tLt             // <
	tLParen         // (
	tRParen         // )
	tComma          // ,
)

type token struct {
	kind tokKind
	lit  string
	pos  int // byte offset in the input
}

func (t token) startsRequirement() bool { return t.kind == tIdent || t.kind == tNot }

// describe returns t for error messages.
func (t token) describe() string {
	if t.kind == tEOF {
		return "end of input"
	}
	return strconv.Quote(t.lit)
}

// A parser reads a selector with one token of lookahead.
type parser struct {
	in  string
	off int   // lexer offset
	tok token // lookahead

	// Scratch space for the values of the current requirement, reused.
	vals []token
	strs []string
}

// next returns the lookahead token and reads the one after it.
func (p *parser) next() token {
	t := p.tok
	p.advance()
	return t
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isSpecial(c byte) bool {
	switch c {
	case '=', '!', '(', ')', ',', '>', '<':
		return true
	}
	return false
}

// advance lexes the next token into p.tok.
func (p *parser) advance() {
	for p.off < len(p.in) && isSpace(p.in[p.off]) {
		p.off++
	}
	start := p.off
	if start == len(p.in) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	kind := tIdent
	p.off++
	switch p.in[start] {
	case '!':
		kind = p.orEquals(tNot, tNotEq)
	case '=':
		kind = p.orEquals(tEq, tEqEq)
	case '>':
		kind = tGt
	case '<':
		kind = tLt
	case '(':
		kind = tLParen
	case ')':
		kind = tRParen
	case ',':
		kind = tComma
	default:
		for p.off < len(p.in) && !isSpace(p.in[p.off]) && !isSpecial(p.in[p.off]) {
			p.off++
		}
	}
	p.tok = token{kind: kind, lit: p.in[start:p.off], pos: start}
}

// orEquals returns long and consumes a '=' if one follows, else short.
func (p *parser) orEquals(short, long tokKind) tokKind {
	if p.off < len(p.in) && p.in[p.off] == '=' {
		p.off++
		return long
	}
	return short
}

// syntax returns a syntax error at tok.
func (p *parser) syntax(tok token, want string) error {
	return &Error{Input: p.in, Pos: tok.pos, Err: ErrSyntax,
		Detail: fmt.Sprintf("found %s, expected %s", tok.describe(), want)}
}

// requirement parses one requirement.
func (p *parser) requirement() (term, error) {
	tok := p.next()
	op := Exists
	if tok.kind == tNot {
		op = DoesNotExist
		tok = p.next()
	}
	if tok.kind != tIdent {
		return term{}, p.syntax(tok, "key")
	}
	key := tok
	if why := validateKey(key.lit); why != "" {
		// Kubernetes checks the key before the operator.
		return term{}, &Error{Input: p.in, Pos: key.pos, Err: ErrInvalidKey,
			Detail: fmt.Sprintf("%q: %s", key.lit, why)}
	}
	r := Requirement{Key: key.lit, Operator: op}
	if op == DoesNotExist || p.tok.kind == tEOF || p.tok.kind == tComma {
		return p.compile(r, key, nil)
	}
	var err error
	if r.Operator, err = p.operator(); err != nil {
		return term{}, err
	}
	p.vals = p.vals[:0]
	if r.Operator == In || r.Operator == NotIn {
		err = p.valueSet()
	} else {
		err = p.exactValue()
	}
	if err != nil {
		return term{}, err
	}
	p.strs = p.strs[:0]
	for _, v := range p.vals {
		p.strs = append(p.strs, v.lit)
	}
	r.Values = p.strs // compile copies what it keeps
	return p.compile(r, key, p.vals)
}

// compile validates r, reporting problems at the key or value token.
func (p *parser) compile(r Requirement, key token, vals []token) (term, error) {
	t, prob := compile(r)
	if prob == nil {
		return t, nil
	}
	pos := key.pos
	if prob.value >= 0 {
		pos = vals[prob.value].pos
	}
	return term{}, &Error{Input: p.in, Pos: pos, Err: prob.err, Detail: prob.detail}
}

// operator parses a binary operator.
func (p *parser) operator() (Operator, error) {
	tok := p.next()
	switch tok.kind {
	case tEq:
		return Equals, nil
	case tEqEq:
		return DoubleEquals, nil
	case tNotEq:
		return NotEquals, nil
	case tGt:
		return Gt, nil
	case tLt:
		return Lt, nil
	case tIdent:
		switch tok.lit {
		case "in":
			return In, nil
		case "notin":
			return NotIn, nil
		}
	}
	return "", p.syntax(tok, "one of in, notin, =, ==, !=, >, <")
}

// exactValue parses the value after =, ==, !=, > or < into p.vals. A
// missing value (end of input or ',') is the empty value.
func (p *parser) exactValue() error {
	if p.tok.kind == tEOF || p.tok.kind == tComma {
		p.addEmpty(p.tok.pos)
		return nil
	}
	tok := p.next()
	if tok.kind != tIdent {
		return p.syntax(tok, "value")
	}
	p.vals = append(p.vals, tok)
	return nil
}

// addEmpty adds the empty value, found at pos, to p.vals.
func (p *parser) addEmpty(pos int) {
	p.vals = append(p.vals, token{kind: tIdent, pos: pos})
}

// valueSet parses "(v1,v2,...)". As in Kubernetes, any value between the
// commas may be empty: "()", "(,)", "(a,,)" and "(,a,,b)" all hold the
// empty value.
func (p *parser) valueSet() error {
	if tok := p.next(); tok.kind != tLParen {
		return p.syntax(tok, "'('")
	}
	switch p.tok.kind {
	case tRParen:
		p.addEmpty(p.next().pos)
		return nil
	case tIdent, tComma:
		return p.valueList()
	}
	return p.syntax(p.tok, "',', ')' or value")
}

// valueList parses the values of a set into p.vals, up to and including ')'.
func (p *parser) valueList() error {
	for {
		tok := p.next()
		switch tok.kind {
		case tIdent:
			p.vals = append(p.vals, tok)
			switch p.tok.kind {
			case tRParen:
				p.next()
				return nil
			case tComma:
				continue
			}
			return p.syntax(p.tok, "',' or ')'")
		case tComma:
			if len(p.vals) == 0 {
				p.addEmpty(tok.pos) // "(,"
			}
			switch p.tok.kind {
			case tRParen: // ",)"
				p.addEmpty(p.next().pos)
				return nil
			case tComma: // ",,": the next round reads the second ','
				p.addEmpty(p.tok.pos)
			}
		default:
			return p.syntax(tok, "',' or value")
		}
	}
}
