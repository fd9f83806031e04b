package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/examples/deathstar/lab"
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
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := lab.RunNetns(ctx, &out, "manifests", false)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	text := out.String()
	for _, want := range []string{
		"Step 1: a pool empire-ip-pool", "ipam.Manager.Assign → pool empire-ip-pool, 172.18.255.201 and 2001:db8:dead:beef::1",
		"speaker sent 0 routes", "router: no route for 2001:db8:dead:beef::1", "curl http://[2001:db8:dead:beef::1]/v1/ → curl: (",
		"2001:db8:dead:beef::1 via 2001:db8:4e::2 dev down0 proto bird",
		"curl http://172.18.255.201/v1/ → curl: (", "L2 announcer on [seg0]",
		"BIRD's tables are empty", "Every step behaved as the story says.",
	} {
		assert.Contains(t, text, want)
	}
	assert.Equal(t, 2, strings.Count(text, `"model": "DS-1 Orbital Battle Station"`), "one body via BGP, one via ARP")
	assert.Empty(t, labLeftovers(t, text), "the lab removed its namespaces, processes and files")
}

// TestLabInterrupted cancels the lab midway (as Ctrl-C does) and checks that
// it cleans up all the same.
func TestLabInterrupted(t *testing.T) {
	netns.RequireT(t)
	if _, err := exec.LookPath("bird"); err != nil {
		t.Skip("privileged test skipped: bird not installed (apt-get install bird2)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var during []string
	w := &cancelOn{text: "Step 5:"} // BIRD, the node and its announcers are running
	w.cancel = func() {
		if during == nil {
			during = labLeftovers(t, w.buf.String())
		}
		cancel()
	}
	err := lab.RunNetns(ctx, w, "manifests", false)
	require.ErrorIs(t, err, context.Canceled)
	// The check sees the lab while it runs: 4 namespaces, the directory,
	// BIRD and the node.
	assert.Len(t, during, 7, "%q", during)
	assert.Empty(t, labLeftovers(t, w.buf.String()))
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

// labLeftovers returns what is left of the lab whose output is out: its
// namespaces, its temporary directory and processes started for it (BIRD
// runs with a config in that directory; the node has its namespace's name
// in its environment).
func labLeftovers(t *testing.T, out string) []string {
	t.Helper()
	m := regexp.MustCompile(`namespaces (\S+), (\S+), (\S+), (\S+)\):`).FindStringSubmatch(out)
	require.NotNil(t, m, "no namespaces in the output")
	tmp := regexp.MustCompile(`router config: (\S+)/bird.conf`).FindStringSubmatch(out)
	require.NotNil(t, tmp, "no router config in the output")
	var left []string
	list, err := exec.Command("ip", "netns", "list").Output()
	require.NoError(t, err)
	for _, ns := range m[1:] {
		if regexp.MustCompile(`(?m)^` + ns + `\b`).Match(list) {
			left = append(left, "namespace "+ns)
		}
	}
	if _, err := os.Stat(tmp[1]); err == nil {
		left = append(left, "directory "+tmp[1])
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, _ := os.ReadFile(p + "/cmdline")
		environ, _ := os.ReadFile(p + "/environ")
		if bytes.Contains(cmdline, []byte(tmp[1])) || bytes.Contains(environ, []byte(lab.NodeIDEnv+"="+m[3]+"\x00")) {
			left = append(left, "process "+p+": "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return left
}
