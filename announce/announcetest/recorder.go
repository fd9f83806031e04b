// Package announcetest provides a Recorder, an announce.Announcer for
// controllers' unit tests: it keeps the current state per service key, logs
// every call and can be told to fail.
package announcetest

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"sync"

	"github.com/lbkit/lbkit/announce"
)

// ErrClosed is returned by a Recorder's Announce and Withdraw after Close.
var ErrClosed = errors.New("announcetest: recorder closed")

// A Method names an Announcer method in a Call.
type Method string

// The Announcer methods.
const (
	MethodAnnounce Method = "Announce"
	MethodWithdraw Method = "Withdraw"
	MethodClose    Method = "Close"
)

// A Call is one recorded call. Service is set for Announce (a deep copy of
// the argument); Key is the service key for Announce and Withdraw. Err is
// what the call returned.
type Call struct {
	Method  Method
	Key     string
	Service announce.Service
	Err     error
}

// A Recorder is an announce.Announcer that records instead of announcing.
// The zero value is ready to use. A Recorder is safe for concurrent use.
//
// A failed call (injected error, or after Close) changes no state but is
// logged like any other.
type Recorder struct {
	mu     sync.Mutex
	state  map[string]announce.Service
	calls  []Call
	inject func(Call) error
	closed bool
}

// InjectError makes every later call first ask fn: when fn returns a
// non-nil error, the call fails with it and changes nothing. fn sees the
// Call before it has an Err, and runs with the Recorder locked, so it must
// not call the Recorder. A nil fn stops injecting.
func (r *Recorder) InjectError(fn func(Call) error) {
	r.mu.Lock()
	r.inject = fn
	r.mu.Unlock()
}

// FailNext makes the next n calls of method m fail with err.
func (r *Recorder) FailNext(m Method, n int, err error) {
	r.InjectError(func(c Call) error {
		if c.Method != m || n <= 0 {
			return nil
		}
		n--
		return err
	})
}

// Announce records s as the state of s.Key.
func (r *Recorder) Announce(_ context.Context, s announce.Service) error {
	s = clone(s)
	return r.record(Call{Method: MethodAnnounce, Key: s.Key, Service: s}, func() {
		if r.state == nil {
			r.state = make(map[string]announce.Service)
		}
		r.state[s.Key] = s
	})
}

// Withdraw forgets key. Withdrawing an unknown key succeeds.
func (r *Recorder) Withdraw(_ context.Context, key string) error {
	return r.record(Call{Method: MethodWithdraw, Key: key}, func() {
		delete(r.state, key)
	})
}

// Close forgets every service and makes later Announce and Withdraw calls
// fail with ErrClosed. Closing twice is harmless.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Method: MethodClose}
	if r.inject != nil {
		c.Err = r.inject(c)
	}
	if c.Err == nil {
		r.closed = true
		r.state = nil
	}
	r.calls = append(r.calls, c)
	return c.Err
}

func (r *Recorder) record(c Call, apply func()) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		c.Err = ErrClosed
	case r.inject != nil:
		c.Err = r.inject(c)
	}
	if c.Err == nil {
		apply()
	}
	r.calls = append(r.calls, c)
	return c.Err
}

// Service returns the current state of key and whether it is announced.
func (r *Recorder) Service(key string) (announce.Service, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.state[key]
	return clone(s), ok
}

// Services returns the announced services, sorted by key.
func (r *Recorder) Services() []announce.Service {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]announce.Service, 0, len(r.state))
	for _, k := range slices.Sorted(maps.Keys(r.state)) {
		out = append(out, clone(r.state[k]))
	}
	return out
}

// Keys returns the keys of the announced services, sorted.
func (r *Recorder) Keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.state))
}

// Addrs returns every announced address, sorted and without duplicates.
func (r *Recorder) Addrs() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []netip.Addr
	for _, s := range r.state {
		out = append(out, s.Addrs...)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// Calls returns a copy of the call log, oldest first.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, len(r.calls))
	for i, c := range r.calls {
		c.Service = clone(c.Service)
		out[i] = c
	}
	return out
}

// Closed reports whether Close has succeeded at least once.
func (r *Recorder) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Reset clears the state, the call log, the injected errors and the closed
// flag.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state, r.calls, r.inject, r.closed = nil, nil, nil, false
}

func clone(s announce.Service) announce.Service {
	s.Labels = maps.Clone(s.Labels)
	s.Addrs = slices.Clone(s.Addrs)
	return s
}
