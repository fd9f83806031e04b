//go:build !linux

package bgp

import (
	"errors"
	"net/netip"
)

// abortSessions is only implemented on Linux; elsewhere CloseGraceful
// falls back to closing sessions with a CEASE.
func abortSessions(netip.Addr, uint16, int32) error {
	return errors.New("closing a session without a notification is only supported on Linux")
}
