package main

import (
	"testing"

	"github.com/lbkit/lbkit/internal/netns"
)

// TestMain lets the lab re-execute the test binary as its node.
func TestMain(m *testing.M) {
	netns.Helpers[labNodeHelper] = labNodeMain
	netns.Main(m)
}
