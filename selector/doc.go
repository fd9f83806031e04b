// Package selector implements Kubernetes-compatible label selectors: the
// string syntax of kubectl -l (Parse), the metav1.LabelSelector shape used
// in manifests (LabelSelector), and fast, allocation-free matching against
// label sets (Selector.Matches). It does not depend on Kubernetes modules.
//
// # Semantics
//
// A Selector is a conjunction of requirements. The zero Selector matches
// every label set; Nothing() matches none. NotIn and != also match when the
// key is absent; In, =, Gt and Lt need the key present. Gt and Lt compare
// the label's value as a decimal 64-bit integer and do not match when it is
// not one. A nil *LabelSelector converts to Nothing(), an empty one to the
// zero Selector, as in Kubernetes.
//
// # Validation
//
// Keys, values and operators are validated as Kubernetes' labels package
// does: a key is an optional DNS-subdomain prefix and '/', then a name of 1
// to 63 characters ([A-Za-z0-9], with '-', '_', '.' inside); a value is
// empty or such a name. In and NotIn need at least one value, Exists and
// DoesNotExist none, the others exactly one. Errors are *Error values
// wrapping a sentinel (ErrSyntax, ErrInvalidKey, ...) for errors.Is; Parse
// errors carry the byte offset of the offending token.
//
// # Canonical form
//
// Selectors are stored canonically (= as In with one value, != as NotIn,
// values sorted and deduplicated, requirements sorted by key), so String
// prints equal selectors the same way and Parse(s.String()) is Equal to s.
// The exception is Nothing(): its String is "<nothing>", which Parse
// rejects.
//
// # Concurrency
//
// Selector values are immutable and safe for concurrent use. Set is a
// plain map: do not modify one while it is being matched.
package selector
