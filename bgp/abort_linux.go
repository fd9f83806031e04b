package bgp

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// abortSessions shuts down, without any BGP message, this process's TCP
// connections to peer that are BGP sessions: those to peerPort, or those
// accepted on listenPort (-1: none). The peer sees the connection end
// without a NOTIFICATION, which is what a graceful-restart helper waits for.
//
// GoBGP offers no way to drop a session without a CEASE, so this finds the
// sockets among the process's file descriptors.
func abortSessions(peer netip.Addr, peerPort uint16, listenPort int32) error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || !strings.HasPrefix(link, "socket:") {
			continue
		}
		if !isSession(fd, peer, peerPort, listenPort) {
			continue
		}
		if err := unix.Shutdown(fd, unix.SHUT_RDWR); err != nil && !errors.Is(err, unix.ENOTCONN) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isSession(fd int, peer netip.Addr, peerPort uint16, listenPort int32) bool {
	if t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || t != unix.SOCK_STREAM {
		return false
	}
	rsa, err := unix.Getpeername(fd)
	if err != nil {
		return false
	}
	raddr, rport, ok := inetAddr(rsa)
	if !ok || raddr != peer {
		return false
	}
	if rport == int(peerPort) {
		return true
	}
	lsa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	_, lport, ok := inetAddr(lsa)
	return ok && listenPort > 0 && lport == int(listenPort)
}

func inetAddr(sa unix.Sockaddr) (netip.Addr, int, bool) {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr), sa.Port, true
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr).Unmap(), sa.Port, true
	}
	return netip.Addr{}, 0, false
}
