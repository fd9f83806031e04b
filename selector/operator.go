package selector

// An Operator relates a requirement's key to its values.
//
// The first four are the operators of Kubernetes' metav1.LabelSelector and
// use its spelling, so LabelSelector manifests unmarshal into them directly.
// Gt and Lt compare decimal integers, as in Kubernetes node selectors.
// Equals, DoubleEquals and NotEquals are the `=`, `==` and `!=` forms of the
// string syntax; a Selector stores them as In or NotIn with one value.
type Operator string

// Operators.
const (
	In           Operator = "In"           // the key is present and its value is one of Values
	NotIn        Operator = "NotIn"        // the key is absent, or its value is none of Values
	Exists       Operator = "Exists"       // the key is present
	DoesNotExist Operator = "DoesNotExist" // the key is absent
	Gt           Operator = "Gt"           // the key's value is an integer greater than Values[0]
	Lt           Operator = "Lt"           // the key's value is an integer less than Values[0]
	Equals       Operator = "="            // same as In with exactly one value
	DoubleEquals Operator = "=="           // same as Equals
	NotEquals    Operator = "!="           // same as NotIn with exactly one value
)

// opcode is the compact, canonical form of an Operator inside a Selector.
// Its order is the order of requirements with the same key in String.
type opcode uint8

const (
	opExists opcode = iota
	opDoesNotExist
	opIn
	opNotIn
	opGt
	opLt
)

// opcodeOf returns the canonical opcode of op and whether op is known.
func opcodeOf(op Operator) (opcode, bool) {
	switch op {
	case Exists:
		return opExists, true
	case DoesNotExist:
		return opDoesNotExist, true
	case In, Equals, DoubleEquals:
		return opIn, true
	case NotIn, NotEquals:
		return opNotIn, true
	case Gt:
		return opGt, true
	case Lt:
		return opLt, true
	}
	return 0, false
}

// operator returns the Operator that c stands for.
func (c opcode) operator() Operator {
	return [...]Operator{Exists, DoesNotExist, In, NotIn, Gt, Lt}[c]
}
