// Package keyset keeps the sorted set of service keys that hold a shared
// resource, such as an address several services share or a route several
// addresses aggregate into. Both announcers let the smallest key decide for
// all holders (its attributes, its election), so that every node picks the
// same owner without coordination.
//
// Not part of lbkit's API.
package keyset

import "slices"

// A Set is a sorted set of keys. The zero value is empty. Add and Remove
// return the updated set, like append.
type Set []string

// Add returns s with k added.
func (s Set) Add(k string) Set {
	i, found := slices.BinarySearch(s, k)
	if found {
		return s
	}
	return slices.Insert(s, i, k)
}

// Remove returns s without k.
func (s Set) Remove(k string) Set {
	if i, found := slices.BinarySearch(s, k); found {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// Owner returns the smallest key of s, the one that decides for all
// holders, and whether s has any key.
func (s Set) Owner() (string, bool) {
	if len(s) == 0 {
		return "", false
	}
	return s[0], true
}
