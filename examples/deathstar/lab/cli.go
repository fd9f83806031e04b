package lab

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lbkit/lbkit/examples/deathstar/manifest"
)

// Main runs the deathstar command with args and returns its exit status:
// 0 if every step of story behaved, 1 if not, 2 for bad flags. By default
// it tells story on loopback (RunLoopback); with -lab, in network
// namespaces (RunNetns). In the lab's node (IsNode) it runs NodeMain.
func Main(args []string, stdout, stderr io.Writer, story Story) int {
	if IsNode() {
		return NodeMain(story)
	}
	fs := flag.NewFlagSet("deathstar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	netns := fs.Bool("lab", false, "build the real topology in network namespaces (needs root, bird2, curl, iproute2)")
	dir := fs.String("manifests", manifest.DefaultDir(), "directory of the pool, BGP and L2 manifests")
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
	cfg, err := manifest.Load(*dir)
	switch {
	case err != nil:
	case *netns:
		err = RunNetns(ctx, stdout, *dir, *verbose)
	default:
		err = RunLoopback(ctx, stdout, cfg, log, story)
	}
	if err != nil {
		fmt.Fprintf(stderr, "deathstar: %v\n", err)
		return 1
	}
	return 0
}
