//go:build !linux

package l2

import (
	"errors"
	"net"
)

func listen(*net.Interface) (net.PacketConn, error) {
	return nil, errors.New("l2: AF_PACKET sockets need Linux; use NewWithLinks")
}

func wrapConn(_ *net.Interface, conn net.PacketConn) net.PacketConn { return conn }

func isLinkDown(error) bool { return false }
