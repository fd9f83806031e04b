package netns

import (
	"os"
	"os/exec"
	"testing"
)

// RequireT skips t, with the reason, unless network namespaces are usable.
func RequireT(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("privileged test skipped: %v", err)
	}
}

// NewT creates a namespace for a test (skipping it when namespaces are
// unavailable) and deletes it, with its processes, in t.Cleanup.
func NewT(t testing.TB, prefix string) *NS {
	t.Helper()
	RequireT(t)
	ns, err := New(prefix)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(ns.Delete)
	return ns
}

// MustRun runs a command in the namespace and fails t on error.
func (ns *NS) MustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Run(name, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// VethT is Veth that fails t on error.
func VethT(t testing.TB, a *NS, aIf string, b *NS, bIf string) {
	t.Helper()
	if err := Veth(a, aIf, b, bIf); err != nil {
		t.Fatalf("%v", err)
	}
}

// The re-exec switch: lbkit code that must run inside a namespace (GoBGP's
// listeners, raw ARP/NDP sockets) runs in a child process of the test binary
// started under `ip netns exec`, since setns on one locked thread does not
// reach other goroutines' threads.
//
// Usage in a package's tests:
//
//	func TestMain(m *testing.M) {
//		netns.Helpers["bgp-node"] = nodeMain // func() int
//		netns.Main(m)
//	}
//
//	cmd := ns.Helper("bgp-node", "ARG=value")
//	ns.Start(cmd)
const helperEnv = "LBKIT_NETNS_HELPER"

// Helpers maps helper names to functions run in re-executed children.
// Register helpers before calling Main.
var Helpers = map[string]func() int{}

// HelperName returns the name of the helper this process was re-executed to
// run (by NS.Helper), or "" when it is not such a child. Programs that are
// not tests (such as the deathstar lab) use it for their own re-exec switch.
func HelperName() string { return os.Getenv(helperEnv) }

// Main runs the named helper and exits when this process is a re-executed
// child, and m.Run otherwise.
func Main(m *testing.M) {
	if name := HelperName(); name != "" {
		fn, ok := Helpers[name]
		if !ok {
			os.Stderr.WriteString("netns: unknown helper " + name + "\n")
			os.Exit(2)
		}
		os.Exit(fn())
	}
	os.Exit(m.Run())
}

// Helper returns a command that re-executes the current test binary inside
// the namespace and runs the named helper there, with extra environment
// variables env ("KEY=value"). Its stdout and stderr are the parent's
// unless set by the caller.
func (ns *NS) Helper(name string, env ...string) *exec.Cmd {
	cmd := ns.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+name), env...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd
}
