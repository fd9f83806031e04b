// Package netns creates throw-away Linux network namespaces, veth links and
// processes inside them, for lbkit's privileged tests and the deathstar lab.
// It shells out to iproute2 (`ip`). Everything it creates carries a unique
// name so that packages tested in parallel never collide.
//
// Code that must run inside a namespace runs in a child process: the
// running program re-executed there (Helper), started with StartChild,
// driven with Child.Call and answering with Serve.
//
// Not part of lbkit's API.
package netns

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrUnavailable reports that network namespaces cannot be used here
// (not root, or no iproute2 / netns support).
var ErrUnavailable = errors.New("netns: network namespaces unavailable")

// Available reports whether this process can create network namespaces,
// and if not, why.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not running as root", ErrUnavailable)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	name := Unique("probe")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: ip netns add: %v: %s", ErrUnavailable, err, bytes.TrimSpace(out))
	}
	_ = exec.Command("ip", "netns", "del", name).Run()
	return nil
}

// Unique returns prefix followed by a random suffix, short enough to be an
// interface name (at most 15 bytes) when prefix has at most 8 bytes.
func Unique(prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// An NS is a network namespace created by New. Its methods are safe for
// concurrent use.
type NS struct {
	name string

	mu    sync.Mutex
	procs []*exec.Cmd
}

// New creates a namespace named Unique(prefix) with its loopback up.
func New(prefix string) (*NS, error) {
	ns := &NS{name: Unique(prefix)}
	if _, err := run("ip", "netns", "add", ns.name); err != nil {
		return nil, err
	}
	if _, err := ns.Run("ip", "link", "set", "lo", "up"); err != nil {
		ns.Delete()
		return nil, err
	}
	return ns, nil
}

// Name returns the namespace's name as `ip netns` knows it.
func (ns *NS) Name() string { return ns.name }

// Run runs a command inside the namespace and returns its combined output.
// The error includes the output.
func (ns *NS) Run(name string, args ...string) (string, error) {
	return run("ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
}

// Command returns a command that runs inside the namespace.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
}

// Start starts cmd (typically from Command) and remembers it, so that Delete
// kills it by pid. Its process group is its own.
func (ns *NS) Start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("netns %s: start %v: %w", ns.name, cmd.Args, err)
	}
	ns.mu.Lock()
	ns.procs = append(ns.procs, cmd)
	ns.mu.Unlock()
	return nil
}

// Stop kills a process started with Start (its whole process group) and
// waits for it. Stopping twice is harmless.
func (ns *NS) Stop(cmd *exec.Cmd) {
	ns.mu.Lock()
	for i, c := range ns.procs {
		if c == cmd {
			ns.procs = append(ns.procs[:i], ns.procs[i+1:]...)
			break
		}
	}
	ns.mu.Unlock()
	kill(cmd)
}

// Delete stops every process started in the namespace and removes it,
// which also destroys the interfaces inside it.
func (ns *NS) Delete() {
	ns.mu.Lock()
	procs := ns.procs
	ns.procs = nil
	ns.mu.Unlock()
	for _, c := range procs {
		kill(c)
	}
	_, _ = run("ip", "netns", "del", ns.name)
}

func kill(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Veth creates a veth pair with end aIf in a and end bIf in b, both up.
// a or b may be nil for the root namespace.
func Veth(a *NS, aIf string, b *NS, bIf string) error {
	tmp := Unique("vt")
	if _, err := run("ip", "link", "add", tmp, "type", "veth", "peer", "name", tmp+"p"); err != nil {
		return err
	}
	if err := moveUp(tmp, a, aIf); err != nil {
		_, _ = run("ip", "link", "del", tmp)
		return err
	}
	if err := moveUp(tmp+"p", b, bIf); err != nil {
		_, _ = run("ip", "link", "del", tmp+"p")
		return err
	}
	return nil
}

func moveUp(cur string, ns *NS, name string) error {
	if ns != nil {
		if _, err := run("ip", "link", "set", cur, "netns", ns.name); err != nil {
			return err
		}
	}
	ip := func(args ...string) (string, error) {
		if ns == nil {
			return run("ip", args...)
		}
		return ns.Run("ip", args...)
	}
	if _, err := ip("link", "set", cur, "name", name); err != nil {
		return err
	}
	_, err := ip("link", "set", name, "up")
	return err
}

// Addr adds address (CIDR form) to interface dev in the namespace. IPv6
// addresses are added with nodad so that they are usable at once.
func (ns *NS) Addr(dev, cidr string) error {
	args := []string{"addr", "add", cidr, "dev", dev}
	if strings.Contains(cidr, ":") {
		args = append(args, "nodad")
	}
	_, err := ns.Run("ip", args...)
	return err
}

// Sysctl sets a sysctl (dotted name) inside the namespace.
func (ns *NS) Sysctl(key, value string) error {
	_, err := ns.Run("sysctl", "-qw", key+"="+value)
	return err
}

// MAC returns the hardware address of dev in the namespace.
func (ns *NS) MAC(dev string) (string, error) {
	out, err := ns.Run("cat", "/sys/class/net/"+dev+"/address")
	return strings.TrimSpace(out), err
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}
