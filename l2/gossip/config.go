package gossip

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultPort is the port a Cluster listens on (UDP and TCP) when
// Config.Bind has no address.
const DefaultPort = 7946

// Default timing: about 0.5 s failover after a crash, about 1.4 kB/s sent
// per node (see the package documentation).
const (
	DefaultProbeInterval    = 100 * time.Millisecond
	DefaultProbeTimeout     = 50 * time.Millisecond
	DefaultSuspicionMult    = 3
	DefaultGossipInterval   = 50 * time.Millisecond
	DefaultPushPullInterval = 15 * time.Second
	DefaultRejoinInterval   = time.Second
)

// Config configures a Cluster.
type Config struct {
	// Name identifies this node; every member needs a different one. It
	// is the name the elector and candidate sets use. Empty is the host
	// name.
	Name string

	// Bind is the address and port to listen on, UDP and TCP. An invalid
	// (zero) address listens on every address and advertises one of the
	// host's private addresses; port 0 with a valid address picks a free
	// port (see Cluster.Addr); the zero value is 0.0.0.0:DefaultPort.
	Bind netip.AddrPort

	// Advertise, when valid, is the address and port other members
	// reach this node at (behind NAT, or when Bind listens on every
	// address).
	Advertise netip.AddrPort

	// Join lists peers ("host:port", or "host" for this node's port) to
	// join; addresses are better than host names, which are joined again
	// every RejoinInterval even when they are members.
	// Peers that are not members are joined again every RejoinInterval,
	// in the background, which also heals partitions. Empty starts a
	// cluster of one that others may join.
	Join []string

	// Secret, when not empty, encrypts and authenticates all traffic;
	// every member needs the same one.
	Secret []byte

	// Timing sets failure detection speed against traffic. The zero
	// value uses the defaults.
	Timing Timing

	// Logger receives the cluster's and memberlist's logs. Nil discards
	// them.
	Logger *slog.Logger
}

// Timing configures failure detection; zero fields take the Default
// values. See the package documentation for how to choose them.
type Timing struct {
	ProbeInterval    time.Duration // how often a node probes one other member
	ProbeTimeout     time.Duration // how long it waits for the ack (a LAN round trip, with margin)
	SuspicionMult    int           // probe intervals a suspect has to refute before it is dead
	GossipInterval   time.Duration // how often pending changes are gossiped to 3 members
	PushPullInterval time.Duration // how often full state is exchanged with one member
	RejoinInterval   time.Duration // how often peers of Config.Join that are not members are joined
}

func (t Timing) withDefaults() (Timing, error) {
	if t.ProbeInterval < 0 || t.ProbeTimeout < 0 || t.SuspicionMult < 0 || t.GossipInterval < 0 ||
		t.PushPullInterval < 0 || t.RejoinInterval < 0 {
		return t, fmt.Errorf("%w: negative timing %+v", ErrInvalidConfig, t)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.ProbeInterval, DefaultProbeInterval)
	def(&t.ProbeTimeout, DefaultProbeTimeout)
	def(&t.GossipInterval, DefaultGossipInterval)
	def(&t.PushPullInterval, DefaultPushPullInterval)
	def(&t.RejoinInterval, DefaultRejoinInterval)
	if t.SuspicionMult == 0 {
		t.SuspicionMult = DefaultSuspicionMult
	}
	if t.ProbeTimeout >= t.ProbeInterval {
		return t, fmt.Errorf("%w: probe timeout %v not below probe interval %v", ErrInvalidConfig, t.ProbeTimeout, t.ProbeInterval)
	}
	return t, nil
}

// memberlistConfig translates cfg, with defaults applied, for memberlist.
func memberlistConfig(cfg Config, t Timing, logOut io.Writer) (*memberlist.Config, error) {
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr, mc.BindPort = "0.0.0.0", DefaultPort
	if cfg.Bind.Addr().IsValid() {
		mc.BindAddr, mc.BindPort = cfg.Bind.Addr().Unmap().String(), int(cfg.Bind.Port())
	} else if cfg.Bind.Port() != 0 {
		mc.BindPort = int(cfg.Bind.Port())
	}
	mc.AdvertisePort = mc.BindPort
	if cfg.Advertise.IsValid() {
		mc.AdvertiseAddr, mc.AdvertisePort = cfg.Advertise.Addr().Unmap().String(), int(cfg.Advertise.Port())
	}
	mc.ProbeInterval, mc.ProbeTimeout = t.ProbeInterval, t.ProbeTimeout
	mc.SuspicionMult = t.SuspicionMult
	mc.GossipInterval, mc.PushPullInterval = t.GossipInterval, t.PushPullInterval
	mc.GossipToTheDeadTime = t.PushPullInterval
	// Dial and stream timeouts: a LAN peer answers in milliseconds or is
	// gone; a long timeout only delays rejoining.
	mc.TCPTimeout = 2 * time.Second
	// Probes and acks are a few dozen bytes that do not compress;
	// compressing every packet only costs CPU (about a third of it).
	mc.EnableCompression = false
	if len(cfg.Secret) > 0 {
		key := sha256.Sum256(cfg.Secret)
		mc.SecretKey = key[:] // AES-256-GCM; GossipVerifyIncoming rejects plain messages
	}
	mc.Logger = log.New(logOut, "", 0)
	return mc, nil
}

func defaultName(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", fmt.Errorf("%w: no name and no host name: %v", ErrInvalidConfig, err)
	}
	return h, nil
}

// slogWriter turns memberlist's "[LEVEL] memberlist: message" log lines
// into slog records.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for prefix, l := range map[string]slog.Level{
		"[DEBUG] ": slog.LevelDebug, "[INFO] ": slog.LevelInfo, "[WARN] ": slog.LevelWarn,
		"[ERR] ": slog.LevelError, "[ERROR] ": slog.LevelError,
	} {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			line, level = rest, l
			break
		}
	}
	w.log.Log(context.Background(), level, line)
	return len(p), nil
}
