package netns

import (
	"os"
	"os/exec"
)

// Helpers for tests. They take a TB, the part of testing.TB they use, so
// that this package does not make the programs that use it (the deathstar
// lab) link package testing.

// TB is the part of testing.TB that the test helpers use.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// RequireT skips t, with the reason, unless network namespaces are usable.
func RequireT(t TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("privileged test skipped: %v", err)
	}
}

// NewT creates a namespace for a test (skipping it when namespaces are
// unavailable) and deletes it, with its processes, in t.Cleanup.
func NewT(t TB, prefix string) *NS {
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
func (ns *NS) MustRun(t TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Run(name, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// VethT is Veth that fails t on error.
func VethT(t TB, a *NS, aIf string, b *NS, bIf string) {
	t.Helper()
	if err := Veth(a, aIf, b, bIf); err != nil {
		t.Fatalf("%v", err)
	}
}

// The re-exec switch: a test binary (or a program) re-executed by Helper
// runs the named helper instead of its tests. Usage in a package's tests:
//
//	func TestMain(m *testing.M) {
//		netns.Helpers["bgp-node"] = nodeMain // func() int, typically calling Serve
//		netns.Main(m)
//	}
//
//	child, err := ns.StartChild(ctx, ns.Helper("bgp-node", "ARG=value"))
//	err = child.Call(ctx, "announce", svc, nil)
const helperEnv = "LBKIT_NETNS_HELPER"

// Helpers maps helper names to functions run in re-executed children.
// Register helpers before calling Main.
var Helpers = map[string]func() int{}

// HelperName returns the name of the helper this process was re-executed to
// run (by Helper), or "" when it is not such a child. Programs that are not
// tests (such as the deathstar lab) use it for their own re-exec switch.
func HelperName() string { return os.Getenv(helperEnv) }

// Main runs the named helper and exits when this process is a re-executed
// child, and m.Run (m is a *testing.M) otherwise.
func Main(m interface{ Run() int }) {
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

// Helper returns a command that re-executes the running program inside the
// namespace and runs the named helper there, with extra environment
// variables env ("KEY=value"). Its stdout and stderr are the parent's
// stderr unless set by the caller. Start it with StartChild (or Start).
func (ns *NS) Helper(name string, env ...string) *exec.Cmd {
	cmd := ns.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+name), env...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd
}
