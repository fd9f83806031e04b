package l2

import "errors"

// Errors returned by this package, wrapped; test with errors.Is.
var (
	ErrClosed         = errors.New("l2: announcer closed")
	ErrInvalidConfig  = errors.New("l2: invalid config")
	ErrInvalidService = errors.New("l2: invalid service")
)
