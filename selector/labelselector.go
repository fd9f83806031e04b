package selector

// A LabelSelector is a selector in the shape of Kubernetes'
// metav1.LabelSelector: its JSON and YAML field names are the same, so
// manifests written for Kubernetes (with encoding/json or sigs.k8s.io/yaml)
// unmarshal into it, e.g.
//
//	serviceSelector:
//	  matchLabels: {org: empire}
//	  matchExpressions:
//	  - {key: tier, operator: NotIn, values: [db]}
//
// Convert it with Selector. A LabelSelector is plain data; the conversion
// validates it.
type LabelSelector struct {
	// MatchLabels requires each key to have the given value.
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// MatchExpressions are further requirements. As in Kubernetes, only
	// the operators In, NotIn, Exists and DoesNotExist are allowed here.
	MatchExpressions []Requirement `json:"matchExpressions,omitempty"`
}

// Selector converts ls to a Selector, with Kubernetes' semantics
// (metav1.LabelSelectorAsSelector):
//
//   - a nil *LabelSelector is Nothing(), matching no label set;
//   - an empty LabelSelector{} is the zero Selector, matching every set;
//   - otherwise the selector requires all of MatchLabels and MatchExpressions.
//
// So a struct field of type *LabelSelector that is omitted in a manifest
// selects nothing, while a field of type LabelSelector (not a pointer) that
// is omitted selects everything: choose the field type for the default you
// want.
//
// The error is an *Error naming the first invalid entry, as
// `matchLabels["key"]` or `matchExpressions[i]`, wrapping ErrInvalidKey,
// ErrInvalidValue, ErrInvalidOperator or ErrValueCount. Keys in
// MatchLabels are checked in sorted order.
func (ls *LabelSelector) Selector() (Selector, error) {
	if ls == nil {
		return Nothing(), nil
	}
	return build(ls.MatchLabels, ls.MatchExpressions, "matchExpressions", true)
}
