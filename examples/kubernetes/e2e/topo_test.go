package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/lbkit/lbkit/examples/kubernetes/cmd/lbkit-agent/agentcmd"
	"github.com/lbkit/lbkit/examples/kubernetes/testenv"
	"github.com/lbkit/lbkit/internal/bird"
	"github.com/lbkit/lbkit/internal/netns"
)

// Helpers run re-executed inside node namespaces.
const (
	agentHelper = "lbkit-agent"
	webHelper   = "deathstar-web"
	argsEnv     = "LBKIT_AGENT_ARGS" // the agent's arguments, JSON
)

func TestMain(m *testing.M) {
	netns.Helpers[agentHelper] = func() int {
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv(argsEnv)), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad", argsEnv, err)
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		return agentcmd.Main(ctx, args, os.Stderr)
	}
	netns.Helpers[webHelper] = web
	if dir, err := testenv.Assets(); err == nil {
		os.Setenv("KUBEBUILDER_ASSETS", dir)
	}
	netns.Main(m)
}

// web serves the Death Star API on port 80 of every address, answering
// with the node's name.
func web() int {
	node := os.Getenv("NODE")
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name":"Death Star","class":"Deep Space Mobile Battlestation","node":%q}`+"\n", node)
	})
	l, err := net.Listen("tcp", ":80")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	_ = srv.Serve(l)
	return 0
}

// Addresses of the topology (namespaces and bridges the test creates).
var (
	routerAddr = netip.MustParseAddr("2001:db8:4e::1")
	clientAddr = "2001:db8:4c::2"
	hostAddr   = "172.18.255.10"
)

// lab is the topology.
type lab struct {
	t              testing.TB
	mgmt           string     // the management bridge in the root namespace
	mgmtNet        netip.Addr // its address: the API server's
	router, client *netns.NS
	host           *netns.NS
	bird           *bird.Router
	nodes          []*labNode
	kubeconfig     string
}

// labNode is a node: a namespace with a management, an upstream and a
// segment interface, its agent process and web server.
type labNode struct {
	name     string
	ns       *netns.NS
	mgmt     netip.Addr
	up       netip.Addr
	segMAC   string
	agent    *exec.Cmd
	agentLog string
}

// run runs a command in the root namespace and fails t on error.
func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newLab builds the topology for two nodes.
func newLab(t testing.TB) *lab {
	netns.RequireT(t)
	bird.RequireT(t)
	for _, tool := range []string{"curl", "arping"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	l := &lab{t: t}
	// The management network: a bridge in the root namespace on a free
	// /24 of 198.19.0.0/16 (benchmarking space, RFC 2544).
	for i := 0; ; i++ {
		n := rand.IntN(256)
		if out := run(t, "ip", "-4", "addr", "show", "to", fmt.Sprintf("198.19.%d.0/24", n)); strings.TrimSpace(out) == "" {
			l.mgmtNet = netip.AddrFrom4([4]byte{198, 19, byte(n), 1})
			break
		}
		if i > 20 {
			t.Fatal("no free /24 in 198.19.0.0/16")
		}
	}
	l.mgmt = netns.Unique("lbmgmt")
	run(t, "ip", "link", "add", l.mgmt, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", l.mgmt).Run() })
	run(t, "ip", "addr", "add", l.mgmtNet.String()+"/24", "dev", l.mgmt)
	run(t, "ip", "link", "set", l.mgmt, "up")

	l.router = netns.NewT(t, "lbrtr")
	l.client = netns.NewT(t, "lbcli")
	l.host = netns.NewT(t, "lbhost")
	for _, c := range [][]string{
		{"ip", "link", "add", "brup", "type", "bridge"}, {"ip", "link", "set", "brup", "up"},
		{"ip", "addr", "add", routerAddr.String() + "/64", "dev", "brup", "nodad"},
		{"sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"},
	} {
		l.router.MustRun(t, c[0], c[1:]...)
	}
	netns.VethT(t, l.router, "cli0", l.client, "eth0")
	l.router.MustRun(t, "ip", "addr", "add", "2001:db8:4c::1/64", "dev", "cli0", "nodad")
	l.client.MustRun(t, "ip", "addr", "add", clientAddr+"/64", "dev", "eth0", "nodad")
	l.client.MustRun(t, "ip", "-6", "route", "add", "default", "via", "2001:db8:4c::1")
	for _, c := range [][]string{
		{"ip", "link", "add", "br0", "type", "bridge"}, {"ip", "link", "set", "br0", "up"},
		{"ip", "addr", "add", hostAddr + "/24", "dev", "br0"},
	} {
		l.host.MustRun(t, c[0], c[1:]...)
	}
	for i, name := range []string{"node-a", "node-b"} {
		l.nodes = append(l.nodes, l.addNode(i, name))
	}
	var nbs []bird.Neighbor
	for _, n := range l.nodes {
		nbs = append(nbs, bird.Neighbor{Name: strings.ReplaceAll(n.name, "-", ""), Address: n.up, ASN: 65001,
			Local: routerAddr, IPv6: true, HoldTime: 9, GracefulRestart: true})
	}
	l.bird = bird.StartT(t, l.router, bird.Config{RouterID: netip.MustParseAddr("10.255.0.1"), ASN: 65000, Kernel: true, Neighbors: nbs})
	return l
}

// addNode creates node i's namespace, links and web server.
func (l *lab) addNode(i int, name string) *labNode {
	t := l.t
	n := &labNode{name: name, ns: netns.NewT(t, "lbnode")}
	n.mgmt = netip.AddrFrom4(l.mgmtNet.As4())
	for range i + 1 {
		n.mgmt = n.mgmt.Next()
	}
	n.up = netip.MustParseAddr(fmt.Sprintf("2001:db8:4e::%d", i+2))
	rootIf := netns.Unique("lbm")
	netns.VethT(t, nil, rootIf, n.ns, "mgmt0")
	run(t, "ip", "link", "set", rootIf, "master", l.mgmt)
	netns.VethT(t, l.router, fmt.Sprintf("dn%d", i), n.ns, "up0")
	l.router.MustRun(t, "ip", "link", "set", fmt.Sprintf("dn%d", i), "master", "brup")
	netns.VethT(t, l.host, fmt.Sprintf("p%d", i), n.ns, "seg0")
	l.host.MustRun(t, "ip", "link", "set", fmt.Sprintf("p%d", i), "master", "br0")
	for _, c := range [][]string{
		{"ip", "addr", "add", n.mgmt.String() + "/24", "dev", "mgmt0"},
		{"ip", "addr", "add", n.up.String() + "/64", "dev", "up0", "nodad"},
		{"ip", "-6", "route", "add", "default", "via", routerAddr.String()},
		{"ip", "addr", "add", fmt.Sprintf("172.18.255.%d/24", i+1), "dev", "seg0"},
		{"sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"},
		{"sysctl", "-qw", "net.ipv4.conf.all.arp_announce=2"},
	} {
		n.ns.MustRun(t, c[0], c[1:]...)
	}
	mac, err := n.ns.MAC("seg0")
	if err != nil {
		t.Fatal(err)
	}
	n.segMAC = mac
	w := n.ns.Helper(webHelper, "NODE="+name)
	if err := n.ns.Start(w); err != nil {
		t.Fatal(err)
	}
	return n
}

// writeKubeconfig writes env's credentials for the agents.
func (l *lab) writeKubeconfig(env *testenv.Env) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: env.Config.CertData,
		ClientKeyData: env.Config.KeyData, Token: env.Config.BearerToken}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "admin"}
	cfg.CurrentContext = "e2e"
	l.kubeconfig = filepath.Join(l.t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, l.kubeconfig); err != nil {
		l.t.Fatal(err)
	}
}

// startAgent starts n's agent: the lbkit-agent program in n's namespace.
func (l *lab) startAgent(n *labNode, extra ...string) {
	t := l.t
	args := append([]string{"-node-name=" + n.name, "-namespace=default",
		"-metrics-addr=" + n.mgmt.String() + ":7472", "-health-addr=0", "-log-level=debug"}, extra...)
	b, _ := json.Marshal(args)
	cmd := n.ns.Helper(agentHelper, "KUBECONFIG="+l.kubeconfig, argsEnv+"="+string(b))
	n.agentLog = filepath.Join(t.TempDir(), n.name+".log")
	f, err := os.Create(n.agentLog)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := n.ns.Start(cmd); err != nil {
		t.Fatal(err)
	}
	f.Close()
	n.agent = cmd
	t.Cleanup(func() {
		n.ns.Stop(cmd) // before the API server stops: it waits for the agents' watches
		if t.Failed() {
			b, _ := os.ReadFile(n.agentLog)
			t.Logf("%s's agent log (last 3000 bytes):\n%s", n.name, tail(b, 3000))
		}
	})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// curl fetches url from namespace ns.
func curl(ctx context.Context, ns *netns.NS, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name(), "curl", "-sS", "-g", "--connect-timeout", "2", "--max-time", "4", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("curl %s: %s (%w)", url, strings.TrimSpace(string(out)), err)
	}
	return string(out), nil
}

// arping returns the MAC that answers an ARP request for addr on the
// host's segment (Habets' arping, raw output), or "" when none answers
// within timeout.
func (l *lab) arping(addr netip.Addr, timeout time.Duration) string {
	secs := fmt.Sprintf("%.1f", timeout.Seconds())
	out, _ := exec.Command("ip", "netns", "exec", l.host.Name(), "arping", "-r", "-C", "1", "-c", "1", "-w", secs,
		"-i", "br0", addr.String()).Output()
	return strings.ToLower(strings.TrimSpace(string(out)))
}
