//go:build !linux

package l2

import (
	"errors"
	"os"
)

func linkEvents() (*os.File, error) { return nil, errors.New("l2: no link events on this platform") }

func eventsLost(error) bool { return false }
