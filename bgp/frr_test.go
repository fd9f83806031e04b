package bgp_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/bgp"
	"github.com/lbkit/lbkit/internal/netns"
)

const frrDir = "/usr/lib/frr"

// startFRR runs FRR's zebra, bfdd and bgpd in ns, unprivileged (user
// frr), with bgpd configured by bgpConf. zebra installs the routes into
// the namespace's kernel. Skips the test if FRR is not installed.
func startFRR(t *testing.T, ns *netns.NS, bgpConf string) {
	t.Helper()
	for _, d := range []string{"zebra", "bfdd", "bgpd"} {
		if _, err := os.Stat(filepath.Join(frrDir, d)); err != nil {
			t.Skipf("FRR not installed (%v); apt-get install frr", err)
		}
	}
	u, err := user.Lookup("frr")
	if err != nil {
		t.Skipf("no frr user: %v", err)
	}
	// Not t.TempDir: its parent is private to root, and the daemons run
	// as frr.
	dir, err := os.MkdirTemp("", "lbkit-frr-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	var uid, gid int
	fmt.Sscan(u.Uid, &uid)
	fmt.Sscan(u.Gid, &gid)
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chown(dir, uid, gid))
	confs := map[string]string{
		"zebra": "hostname rt\n",
		"bfdd":  "hostname rt\nbfd\n",
		"bgpd":  "hostname rt\n" + bgpConf,
	}
	for _, d := range []string{"zebra", "bfdd", "bgpd"} {
		conf := filepath.Join(dir, d+".conf")
		require.NoError(t, os.WriteFile(conf, []byte(confs[d]), 0o644))
		args := []string{"-u", "frr", "-g", "frr", "--vty_socket", dir, "-z", filepath.Join(dir, "zserv.api"),
			"-i", filepath.Join(dir, d+".pid"), "-f", conf, "-P", "0"}
		if d == "bfdd" {
			args = append(args, "--bfdctl", filepath.Join(dir, "bfdd.sock"))
		}
		cmd := ns.Command(filepath.Join(frrDir, d), args...)
		logf, err := os.Create(filepath.Join(dir, d+".log"))
		require.NoError(t, err)
		cmd.Stdout, cmd.Stderr = logf, logf
		require.NoError(t, ns.Start(cmd))
		t.Cleanup(func() {
			ns.Stop(cmd)
			logf.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("%s log:\n%s", d, b)
			}
		})
		if d == "zebra" {
			require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "zserv.api")); return err == nil },
				10*time.Second, 20*time.Millisecond, "zebra's socket")
		}
	}
}

// frrBGPConf is bgpd's configuration for the lab: the speaker's IPv4
// address as a neighbor with BFD, its IPv6 address without, both with a
// 3 s hold time.
func frrBGPConf() string {
	hold := int(bfdHold / time.Second)
	var b strings.Builder
	fmt.Fprintf(&b, "router bgp %d\n bgp router-id %v\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n", routerASN, routerV4)
	for _, a := range []netip.Addr{nodeV4, nodeV6} {
		fmt.Fprintf(&b, " neighbor %v remote-as %d\n neighbor %v timers %d %d\n neighbor %v timers connect 1\n", a, speakerASN, a, 1, hold, a)
	}
	fmt.Fprintf(&b, " neighbor %v bfd\n", nodeV4)
	fmt.Fprintf(&b, " address-family ipv4 unicast\n  neighbor %v activate\n exit-address-family\n", nodeV4)
	fmt.Fprintf(&b, " address-family ipv6 unicast\n  neighbor %v activate\n exit-address-family\n", nodeV6)
	return b.String()
}

// TestFRRBFD: as TestBIRDBFD, against FRR (zebra, bgpd, bfdd): a frozen
// speaker's IPv4 route (session with BFD) leaves the router's kernel
// within BFD's detection time, its IPv6 route (no BFD) at the hold time;
// the sessions come back once and stay up.
func TestFRRBFD(t *testing.T) {
	netns.RequireT(t)
	router, node := netns.NewT(t, "lbkfr"), netns.NewT(t, "lbkfn")
	netns.VethT(t, router, "eth0", node, "eth0")
	for _, a := range []struct {
		ns   *netns.NS
		cidr string
	}{{router, "10.213.0.1/30"}, {router, "2001:db8:213::1/64"}, {node, "10.213.0.2/30"}, {node, "2001:db8:213::2/64"}} {
		require.NoError(t, a.ns.Addr("eth0", a.cidr))
	}
	startFRR(t, router, frrBGPConf())
	speak := startNode(t, node, nodeConfig{ASN: speakerASN, RouterID: nodeV4})
	v6 := speakerPeer(routerV6)
	v6.HoldTime = bfdHold
	speak.must(nodeRequest{Op: "addpeer", Peer: ptr(bfdPeer(routerV4))})
	speak.must(nodeRequest{Op: "addpeer", Peer: &v6})
	speak.must(nodeRequest{Op: "announce", Service: &announce.Service{Key: "default/deathstar", Addrs: []netip.Addr{deathstarV4, deathstarV6}}})
	waitKernel(t, router, 60*time.Second, deathstarV4, deathstarV6)
	require.Eventually(t, func() bool { return speak.bfd(routerV4) == bgp.BFDUp }, 30*time.Second, 50*time.Millisecond)
	stable(t, router, 3*time.Second, deathstarV4, deathstarV6)

	for round := range 2 {
		require.NoError(t, syscall.Kill(speak.pid, syscall.SIGSTOP))
		gone := timeRoutesGone(t, router, time.Now(), 4*bfdHold, deathstarV4, deathstarV6)
		require.NoError(t, syscall.Kill(speak.pid, syscall.SIGCONT))
		t.Logf("round %d: frozen speaker: FRR dropped the route with BFD after %v, without BFD (hold %v) after %v",
			round, gone[0].Round(time.Millisecond), bfdHold, gone[1].Round(time.Millisecond))
		assert.Less(t, gone[0], bfdHold-500*time.Millisecond, "BFD detects before the hold time")
		assert.Less(t, gone[0], gone[1])
		waitKernel(t, router, 60*time.Second, deathstarV4, deathstarV6)
		require.Eventually(t, func() bool { return speak.bfd(routerV4) == bgp.BFDUp }, 30*time.Second, 50*time.Millisecond)
		stable(t, router, 5*time.Second, deathstarV4, deathstarV6)
	}
}
