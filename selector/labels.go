package selector

// Labels is the read-only view of a label set that selectors match against.
// Set implements it; callers may adapt their own label types.
type Labels interface {
	// Lookup returns the value of key and whether the key is present.
	Lookup(key string) (value string, ok bool)
}

// Set is a map of label keys to values. It implements Labels.
type Set map[string]string

// Lookup returns the value of key and whether the key is present.
func (s Set) Lookup(key string) (string, bool) {
	v, ok := s[key]
	return v, ok
}
