// Command deathstar runs lbkit's reference scenario end to end and tells it
// as a lab guide would: a pool, a service that gets one IPv4 and one IPv6
// address, BGP announcements gated by a label, L2 (ARP) announcements for a
// host on the node's segment, and a clean shutdown.
//
//	go run ./examples/deathstar        # one process, loopback, no privileges, a few seconds
//	sudo go run ./examples/deathstar -lab  # network namespaces, BIRD 2, curl
//
// The configuration is read from manifests/ (see -manifests): a pool, a BGP
// peering policy and an L2 announcement policy in the shapes of Cilium's
// CiliumLoadBalancerIPPool, CiliumBGPPeeringPolicy and
// CiliumL2AnnouncementPolicy, parsed with sigs.k8s.io/yaml and converted
// into lbkit values.
//
// The exit status is 0 only if every step behaved as the story says.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
)

func main() {
	if isLabNode() {
		os.Exit(labNodeMain())
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args and runs the chosen mode; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deathstar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lab := fs.Bool("lab", false, "build the real topology in network namespaces (needs root, bird2, curl, iproute2)")
	dir := fs.String("manifests", defaultManifests(), "directory of the pool, BGP and L2 manifests")
	verbose := fs.Bool("v", false, "log lbkit's decisions to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	var err error
	if *lab {
		err = RunLab(ctx, stdout, *dir, log)
	} else {
		err = RunLoop(ctx, stdout, *dir, log)
	}
	if err != nil {
		fmt.Fprintf(stderr, "deathstar: %v\n", err)
		return 1
	}
	return 0
}

// defaultManifests is manifests/ next to this source file when run from the
// module (go run), else ./manifests.
func defaultManifests() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "manifests")
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	for _, d := range []string{"examples/deathstar/manifests", "manifests"} {
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	return "manifests"
}
