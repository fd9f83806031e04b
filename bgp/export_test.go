package bgp

import "github.com/lbkit/lbkit/selector"

// Internals the tests in package bgp_test use.

var NewGoBGPLogger = newGoBGPLogger

const LevelTrace = levelTrace

// IsWellKnown reports whether name is a well-known community's name.
func IsWellKnown(name string) bool {
	_, ok := wellKnown[name]
	return ok
}

// Flushed returns once GoBGP has every route change queued so far.
func (s *Speaker) Flushed() { s.flushed() }

// HasService reports whether the speaker holds the service with key.
func (s *Speaker) HasService(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.services[key]
	return ok
}

// A ValidRule is a Rule as Config.Validate checks and parses it.
type ValidRule = rule

// Validate checks c and returns its parsed rules.
func (c Config) Validate() ([]ValidRule, error) { return c.validate() }

// Attrs is the attributes AttrsFor merges, with exported fields.
type Attrs struct {
	Communities []Community
	Large       []LargeCommunity
	LocalPref   *uint32
	MED         *uint32
	a           attrs
}

// Equal reports whether a and b are the same attributes.
func (a Attrs) Equal(b Attrs) bool { return a.a.equal(b.a) }

// AttrsFor returns the merged attributes of the rules matching labels.
func AttrsFor(rules []ValidRule, labels selector.Labels) Attrs {
	a := attrsFor(rules, labels)
	return Attrs{Communities: a.communities, Large: a.large, LocalPref: a.localPref, MED: a.med, a: a}
}
