// Package freeport finds TCP ports that tests and test helpers can listen
// on.
package freeport

import (
	"net"
	"net/netip"
)

// TCP returns a TCP port that was free on addr a moment ago. Another
// listener may take it before the caller binds it; callers that can retry
// should.
func TCP(addr netip.Addr) (uint16, error) {
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}
