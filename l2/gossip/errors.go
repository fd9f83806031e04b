package gossip

import "errors"

// Errors returned by this package, wrapped; test with errors.Is.
var (
	ErrInvalidConfig = errors.New("gossip: invalid config")
	ErrClosed        = errors.New("gossip: cluster closed")
)
