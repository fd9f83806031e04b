package bird

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lbkit/lbkit/internal/netns"
)

// ErrAttached reports an attempt to restart or reconfigure a router
// through a handle from Attach.
var ErrAttached = errors.New("bird: attached router: queries only")

// ErrNotFound reports that bird or birdc is not installed.
var ErrNotFound = errors.New("bird: bird or birdc not installed")

// Available reports whether BIRD 2 can be run here (bird and birdc in
// PATH), and if not, why.
func Available() error {
	for _, name := range []string{"bird", "birdc"} {
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		}
	}
	return nil
}

// A Router is a BIRD daemon running in a namespace. Its methods are safe
// for concurrent use.
type Router struct {
	ns       *netns.NS
	dir      string
	conf     string
	sock     string
	attached bool // by Attach: queries only

	mu  sync.Mutex
	cfg Config
	cmd *exec.Cmd
	log *os.File
}

// Start writes cfg into a new temporary directory and starts BIRD in ns
// with it. Stop the router with Stop (ns.Delete also kills it).
func Start(ns *netns.NS, cfg Config) (*Router, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lbkit-bird-")
	if err != nil {
		return nil, err
	}
	r := &Router{ns: ns, dir: dir, conf: filepath.Join(dir, "bird.conf"), sock: filepath.Join(dir, "bird.ctl"), cfg: cfg}
	if err := r.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

// Attach returns a handle on a router that Start started, possibly in
// another process, from its directory (Dir). The handle queries the router
// (Command, Protocols, Routes, WaitEstablished, WaitRoutes); Stop and
// Close do nothing, Restart and Reconfigure return ErrAttached.
func Attach(dir string) *Router {
	return &Router{dir: dir, conf: filepath.Join(dir, "bird.conf"), sock: filepath.Join(dir, "bird.ctl"), attached: true}
}

// Dir returns the router's directory (configuration, socket, log).
func (r *Router) Dir() string { return r.dir }

// Config returns the running configuration.
func (r *Router) Config() Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

func (r *Router) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := os.WriteFile(r.conf, []byte(r.cfg.Render()), 0o600); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(r.dir, "bird.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := r.ns.Command("bird", "-f", "-c", r.conf, "-s", r.sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := r.ns.Start(cmd); err != nil {
		logf.Close()
		return err
	}
	r.cmd, r.log = cmd, logf
	// Wait for the control socket.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := r.birdc("show status"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			r.stopLocked()
			out, _ := os.ReadFile(filepath.Join(r.dir, "bird.log"))
			return fmt.Errorf("bird: did not start in %s: %s", r.ns.Name(), strings.TrimSpace(string(out)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops BIRD (by pid) and keeps the directory; stopping a stopped
// router is harmless.
func (r *Router) Stop() {
	if r.attached {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
}

func (r *Router) stopLocked() {
	if r.cmd != nil {
		r.ns.Stop(r.cmd)
		r.cmd = nil
	}
	if r.log != nil {
		r.log.Close()
		r.log = nil
	}
	_ = os.Remove(r.sock)
}

// Close stops BIRD and removes its directory.
func (r *Router) Close() {
	if r.attached {
		return
	}
	r.Stop()
	_ = os.RemoveAll(r.dir)
}

// Restart stops BIRD and starts it again with the same configuration: its
// sessions go down and its routes are gone until relearned.
func (r *Router) Restart() error {
	if r.attached {
		return ErrAttached
	}
	r.Stop()
	return r.start()
}

// Reconfigure writes cfg and makes the running BIRD load it (birdc
// configure); sessions whose settings change restart.
func (r *Router) Reconfigure(cfg Config) error {
	if r.attached {
		return ErrAttached
	}
	r.mu.Lock()
	r.cfg = cfg
	err := os.WriteFile(r.conf, []byte(cfg.Render()), 0o600)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	out, err := r.birdc("configure")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "Reconfigured") && !strings.Contains(out, "Reconfiguration in progress") {
		return fmt.Errorf("bird: configure: %s", strings.TrimSpace(out))
	}
	return nil
}

// Command runs a birdc command, such as "show route all", and returns its
// output.
func (r *Router) Command(args ...string) (string, error) {
	return r.birdc(strings.Join(args, " "))
}

func (r *Router) birdc(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append([]string{"-s", r.sock}, strings.Fields(command)...)
	out, err := exec.CommandContext(ctx, "birdc", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("birdc %s: %w: %s", command, err, strings.TrimSpace(string(out)))
	}
	if strings.Contains(string(out), "Unable to connect") {
		return string(out), fmt.Errorf("birdc %s: %s", command, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Protocols returns the router's protocols (birdc show protocols).
func (r *Router) Protocols() ([]Protocol, error) {
	out, err := r.birdc("show protocols")
	if err != nil {
		return nil, err
	}
	return ParseProtocols(out), nil
}

// Routes returns every route of every table (birdc show route all).
func (r *Router) Routes() ([]Route, error) {
	out, err := r.birdc("show route all")
	if err != nil {
		return nil, err
	}
	return ParseRoutes(out)
}

// WaitEstablished waits until the BGP protocol name is Established.
func (r *Router) WaitEstablished(ctx context.Context, name string) error {
	return poll(ctx, func() (bool, error) {
		ps, err := r.Protocols()
		if err != nil {
			return false, nil // BIRD may be restarting
		}
		for _, p := range ps {
			if p.Name == name && p.Established() {
				return true, nil
			}
		}
		return false, nil
	}, func() string { out, _ := r.birdc("show protocols all " + name); return out })
}

// WaitRoutes waits until cond holds for the router's routes, and returns
// them.
func (r *Router) WaitRoutes(ctx context.Context, cond func([]Route) bool) ([]Route, error) {
	var last []Route
	err := poll(ctx, func() (bool, error) {
		rs, err := r.Routes()
		if err != nil {
			return false, nil
		}
		last = rs
		return cond(rs), nil
	}, func() string { return fmt.Sprint(last) })
	return last, err
}

// poll calls check every 50 ms until it reports done or ctx ends; the
// error then includes describe().
func poll(ctx context.Context, check func() (bool, error), describe func() string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bird: %w; last state: %s", ctx.Err(), describe())
		case <-t.C:
		}
	}
}
