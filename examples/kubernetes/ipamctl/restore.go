package ipamctl

import "github.com/lbkit/lbkit/ipam"

// restore gives m the assignments services held before a restart.
func restore(m *ipam.Manager, reqs []ipam.Request) []error {
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		_, errs[i] = m.Assign(r)
	}
	return errs
}
