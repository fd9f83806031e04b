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
// Keys, values and operators are validated exactly as Kubernetes' labels
// package does: a key is an optional prefix, a lower-case DNS-1123
// subdomain of at most 253 characters followed by '/', then a name of 1 to
// 63 characters matching [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?; a value
// is empty or matches that same name pattern, at most 63 characters.
// In and NotIn need at least one value, Exists and DoesNotExist none, =,
// ==, != exactly one, and Gt and Lt exactly one decimal integer (which,
// being a label value too, cannot have a sign). Errors are *Error values
// wrapping a sentinel (ErrSyntax, ErrInvalidKey, ErrInvalidValue,
// ErrInvalidOperator, ErrValueCount) for errors.Is; Parse errors carry the
// byte offset of the offending token. Where Kubernetes reports every
// problem of a requirement, this package reports the first one.
//
// # Canonical form
//
// Selectors are stored canonically: = and == become In with one value, !=
// becomes NotIn with one value, values are sorted and deduplicated,
// requirements sorted by key and repeated ones dropped. String prints that
// form (single values with = and !=, several with in and notin), so equal
// selectors print the same, Parse(s.String()) is Equal to s, and Equal
// compares meaning-preserving spellings as equal. The one exception is
// Nothing(), which the string syntax cannot express: its String is
// "<nothing>", which Parse rejects.
//
// # Concurrency
//
// Selector values are immutable and safe for concurrent use. Set is a
// plain map: do not modify one while it is being matched.
//
// # Differences from the design sketch
//
// Beyond DESIGN.md: Everything, MustNew, Equal, IsNothing, the Equals,
// DoubleEquals and NotEquals operators accepted by New, ErrValueCount, and
// the *Error type. LabelSelector reuses Requirement for its
// matchExpressions entries (same JSON fields as Kubernetes'
// LabelSelectorRequirement).
package selector
