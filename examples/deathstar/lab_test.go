package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/internal/netns"
)

// TestLab runs -lab: BIRD 2, the node re-executed in its namespace, real curl
// from the client (IPv6 via BGP) and the host (IPv4 via ARP). Afterwards no
// namespace or process of the lab is left.
func TestLab(t *testing.T) {
	netns.RequireT(t)
	for _, tool := range []string{"bird", "birdc", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("privileged test skipped: %s not installed (apt-get install bird2 curl)", tool)
		}
	}
	before := labLeftovers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := RunLab(ctx, &out, "manifests", nil)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	text := out.String()
	for _, want := range []string{
		"Step 1: a pool empire-ip-pool", "ipam.Manager.Assign → pool empire-ip-pool, 172.18.255.201 and 2001:db8:dead:beef::1",
		"speaker sent 0 routes", "network not found", "curl http://[2001:db8:dead:beef::1]/v1/ → curl: (",
		"2001:db8:dead:beef::1 via 2001:db8:4e::2 dev down0 proto bird",
		"curl http://172.18.255.201/v1/ → curl: (", "L2 announcer on [seg0]",
		"0 of 0 routes", "Every step behaved as the story says.",
	} {
		assert.Contains(t, text, want)
	}
	assert.Equal(t, 2, strings.Count(text, `"model": "DS-1 Orbital Battle Station"`), "one body via BGP, one via ARP")
	assert.Equal(t, before, labLeftovers(t), "the lab removed its namespaces and processes")
}

// TestLabInterrupted cancels the lab midway (as Ctrl-C does) and checks that
// it cleans up all the same.
func TestLabInterrupted(t *testing.T) {
	netns.RequireT(t)
	if _, err := exec.LookPath("bird"); err != nil {
		t.Skip("privileged test skipped: bird not installed (apt-get install bird2)")
	}
	before := labLeftovers(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelOn{text: "Step 5:", cancel: cancel} // BIRD, the node and its announcers are running
	err := RunLab(ctx, w, "manifests", nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, before, labLeftovers(t))
}

// cancelOn is a writer that calls cancel once text has been written.
type cancelOn struct {
	buf    bytes.Buffer
	text   string
	cancel func()
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.text) {
		w.cancel()
	}
	return len(p), nil
}

// labLeftovers lists the lab's namespaces and BIRD processes that exist,
// other tests' included (so callers compare before and after).
func labLeftovers(t *testing.T) []string {
	t.Helper()
	var out []string
	ns, err := exec.Command("ip", "netns", "list").Output()
	require.NoError(t, err)
	for _, l := range strings.Split(string(ns), "\n") {
		for _, p := range []string{"dsrtr", "dscli", "dsnode", "dshost"} {
			if strings.HasPrefix(l, p) {
				out = append(out, strings.Fields(l)[0])
			}
		}
	}
	procs, _ := exec.Command("pgrep", "-f", "deathstar-lab-").Output()
	for _, p := range strings.Fields(string(procs)) {
		out = append(out, "pid "+p)
	}
	return out
}
