package bgp

import "errors"

// Errors returned (wrapped) by this package; test with errors.Is.
var (
	ErrInvalidConfig    = errors.New("bgp: invalid config")
	ErrInvalidPeer      = errors.New("bgp: invalid peer")
	ErrPeerExists       = errors.New("bgp: peer already exists")
	ErrUnknownPeer      = errors.New("bgp: unknown peer")
	ErrInvalidCommunity = errors.New("bgp: invalid community")
	ErrInvalidService   = errors.New("bgp: invalid service")
	ErrClosed           = errors.New("bgp: speaker closed")
)
