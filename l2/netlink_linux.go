package l2

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// linkEvents returns a file that becomes readable on every change of the
// system's network interfaces (an rtnetlink socket subscribed to
// RTMGRP_LINK). Closing it unblocks a pending Read.
func linkEvents() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		_ = unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	return os.NewFile(uintptr(fd), "rtnetlink"), nil // non-blocking: pollable
}

// eventsLost reports whether a read error from linkEvents' socket means
// that events were dropped (its buffer overflowed in a burst of changes):
// the socket still works, and a scan catches up.
func eventsLost(err error) bool { return errors.Is(err, unix.ENOBUFS) }
