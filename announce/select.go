package announce

import (
	"context"
	"sync"

	"github.com/lbkit/lbkit/selector"
)

// Select returns an Announcer that passes to a only the services whose
// labels match sel. When a service that was passed stops matching, Select
// withdraws it from a; a service that never matched is never seen by a.
// This is how "announce only services labelled announced=bgp" is written:
//
//	a := announce.Select(selector.MustParse("announced=bgp"), speaker)
//
// Closing the returned Announcer closes a. If a is nil or a nil pointer
// (an unset *l2.Announcer), Select returns an Announcer that announces
// nothing and that Multi leaves out.
func Select(sel selector.Selector, a Announcer) Announcer {
	if isNil(a) {
		return none{}
	}
	return &selecting{sel: sel, next: a, keys: make(map[string]*keyState)}
}

// none is Select over no announcer: it announces nothing.
type none struct{}

func (none) Announce(context.Context, Service) error { return nil }
func (none) Withdraw(context.Context, string) error  { return nil }
func (none) Close() error                            { return nil }

type selecting struct {
	sel  selector.Selector
	next Announcer

	mu   sync.Mutex
	keys map[string]*keyState // keys in use or passed to next
}

// keyState serializes the calls for one key and remembers whether the key
// was passed to the inner announcer (and so may need a withdrawal).
type keyState struct {
	mu     sync.Mutex
	refs   int  // callers holding or waiting for mu; guarded by selecting.mu
	passed bool // guarded by mu
}

// lock returns the locked state of key, creating it if needed.
func (s *selecting) lock(key string) *keyState {
	s.mu.Lock()
	k := s.keys[key]
	if k == nil {
		k = &keyState{}
		s.keys[key] = k
	}
	k.refs++
	s.mu.Unlock()
	k.mu.Lock()
	return k
}

// unlock releases k and forgets it when nobody needs it any more.
func (s *selecting) unlock(key string, k *keyState) {
	s.mu.Lock()
	k.refs--
	if k.refs == 0 && !k.passed {
		delete(s.keys, key)
	}
	s.mu.Unlock()
	k.mu.Unlock()
}

func (s *selecting) Announce(ctx context.Context, svc Service) error {
	k := s.lock(svc.Key)
	defer s.unlock(svc.Key, k)
	if s.sel.Matches(svc.Labels) {
		// Passed even on error: the inner announcer may hold part of it.
		k.passed = true
		return s.next.Announce(ctx, svc)
	}
	return s.withdrawLocked(ctx, svc.Key, k)
}

func (s *selecting) Withdraw(ctx context.Context, key string) error {
	k := s.lock(key)
	defer s.unlock(key, k)
	return s.withdrawLocked(ctx, key, k)
}

func (s *selecting) withdrawLocked(ctx context.Context, key string, k *keyState) error {
	if !k.passed {
		return nil
	}
	if err := s.next.Withdraw(ctx, key); err != nil {
		return err
	}
	k.passed = false
	return nil
}

func (s *selecting) Close() error { return s.next.Close() }
