package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/examples/deathstar/lab"
	"github.com/lbkit/lbkit/examples/deathstar/manifest"
	"github.com/lbkit/lbkit/internal/netns"
)

// TestMain lets the lab re-execute the test binary as its node.
func TestMain(m *testing.M) {
	netns.Helpers[lab.NodeHelper] = func() int { return lab.NodeMain(story) }
	netns.Main(m)
}

// TestDefaultMode runs the command as `go run ./examples/deathstar` does,
// with no arguments: every step must behave, and the exit status is 0.
func TestDefaultMode(t *testing.T) {
	var out, errOut bytes.Buffer
	status := lab.Main(nil, &out, &errOut, story)
	t.Log("\n" + out.String() + errOut.String())
	require.Equal(t, 0, status)
	text := out.String()
	for _, want := range []string{
		"Step 1: a pool empire-ip-pool (172.18.255.200/29, 2001:db8:dead:beef::/64) selecting org=empire",
		"6 IPv4 and 18446744073709551614 IPv6 addresses free",
		"Step 2: service batuu/deathstar",
		"pool empire-ip-pool, 172.18.255.201 and 2001:db8:dead:beef::1",
		"Step 3:", "speaker sent 0 routes", "no route to host 2001:db8:dead:beef::1",
		"Step 4:", "router learned 172.18.255.201/32 via 127.0.0.1", "router learned 2001:db8:dead:beef::1/128 via ::1",
		`"name": "Death Star"`,
		"Step 5:", "no ARP reply", "172.18.255.201 is-at 02:d5:00:00:00:01",
		"Step 6:", "router table empty", "who-has 172.18.255.201 → no reply",
		"Every step behaved as the story says.",
	} {
		assert.Contains(t, text, want)
	}
	assert.Equal(t, 2, strings.Count(text, `"model": "DS-1 Orbital Battle Station"`), "one body via BGP, one via L2")
}

// TestRunExitStatus checks the command's exit status on bad input.
func TestRunExitStatus(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, lab.Main([]string{"-no-such-flag"}, &out, &errOut, story))
	assert.Equal(t, 1, lab.Main([]string{"-manifests", t.TempDir()}, &out, &errOut, story))
	assert.Contains(t, errOut.String(), manifest.PoolFile)
}

// TestDefaultModeCancelled checks that an interrupted story fails.
func TestDefaultModeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	cfg, err := manifest.Load("manifests")
	require.NoError(t, err)
	require.Error(t, lab.RunLoopback(ctx, &out, cfg, slog.New(slog.DiscardHandler), story))
}

// TestDefaultModeL2Mismatch checks that an L2 policy selecting none of the
// node's interfaces fails step 5 with a reason.
func TestDefaultModeL2Mismatch(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{manifest.PoolFile, manifest.BGPFile, manifest.L2File} {
		b, err := os.ReadFile(filepath.Join("manifests", f))
		require.NoError(t, err)
		if f == manifest.L2File {
			b = []byte(strings.Replace(string(b), "^seg[0-9]+$", "^eth[0-9]+$", 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 1, lab.Main([]string{"-manifests", dir}, &out, &errOut, story))
	assert.Contains(t, errOut.String(), "step 5:")
	assert.Contains(t, errOut.String(), `interfaces ["^eth[0-9]+$"] do not select the node's seg0`)
}
