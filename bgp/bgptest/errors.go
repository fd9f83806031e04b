package bgptest

import "errors"

// Errors returned by this package, wrapped; test them with errors.Is.
var (
	ErrInvalidConfig = errors.New("bgptest: invalid config")
	ErrInvalidPeer   = errors.New("bgptest: invalid peer")
	ErrPeerExists    = errors.New("bgptest: peer exists")
	ErrUnknownPeer   = errors.New("bgptest: unknown peer")
	ErrClosed        = errors.New("bgptest: router closed")
)
