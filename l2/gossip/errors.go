package gossip

import "errors"

// ErrInvalidConfig is returned, wrapped, by New for a config it cannot
// use; test with errors.Is.
var ErrInvalidConfig = errors.New("gossip: invalid config")
