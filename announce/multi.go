package announce

import (
	"context"
	"errors"
)

// Multi returns an Announcer that fans every call out to each of as, in
// order. Every announcer is tried even when an earlier one fails; the
// errors are joined (errors.Join), so errors.Is sees each of them.
// Closing it closes every announcer. Nil announcers and nil pointers are
// left out: Multi(speaker, l2Announcer) with an unset l2Announcer
// (*l2.Announcer) announces with the speaker only.
func Multi(as ...Announcer) Announcer {
	m := make(multi, 0, len(as))
	for _, a := range as {
		if !isNil(a) {
			m = append(m, a)
		}
	}
	return m
}

type multi []Announcer

func (m multi) Announce(ctx context.Context, s Service) error {
	return m.each(func(a Announcer) error { return a.Announce(ctx, s) })
}

func (m multi) Withdraw(ctx context.Context, key string) error {
	return m.each(func(a Announcer) error { return a.Withdraw(ctx, key) })
}

func (m multi) Close() error {
	return m.each(Announcer.Close)
}

func (m multi) each(f func(Announcer) error) error {
	var errs []error
	for _, a := range m {
		if err := f(a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
