package l2

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbkit/lbkit/announce"
	"github.com/lbkit/lbkit/internal/netns"
)

func TestMain(m *testing.M) {
	netns.Helpers["l2-node"] = nodeMain
	netns.Helpers["l2-ask"] = askMain
	netns.Main(m)
}

// nodeMain runs an announcer inside a node namespace. Environment:
// L2_IFACES (comma-separated patterns), L2_SELF and L2_MEMBERS (a
// Rendezvous elector; Always when unset), L2_HTTP (addresses to serve
// "/v1/" on, comma-separated host:port). It answers calls (netns.Serve)
// whose op is a command and whose argument its words ([]string):
//
//	announce KEY ADDR...   withdraw KEY   dead NAME   alive NAME
//	ifaces                 answering      stats IFACE
func nodeMain() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	self := os.Getenv("L2_SELF")
	log = log.With("node", self)
	var elector Elector = Always()
	var rv *Rendezvous
	if m := os.Getenv("L2_MEMBERS"); m != "" {
		rv = NewRendezvous(self, strings.Split(m, ",")...)
		elector = rv
	}
	a, err := New(context.Background(), Config{
		Interfaces: strings.Split(os.Getenv("L2_IFACES"), ","),
		Elector:    elector,
		Gratuitous: Gratuitous{Count: 3, Interval: 200 * time.Millisecond},
		Rescan:     -1, // rtnetlink events only: the tests prove they suffice
		Logger:     log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "l2-node:", err)
		return 1
	}
	defer a.Close()
	for _, addr := range strings.Split(os.Getenv("L2_HTTP"), ",") {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "l2-node:", err)
			return 1
		}
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "deathstar %s via %s\n", r.URL.Path, self)
			}))
		}()
	}
	return netns.Serve(func(_ context.Context, call netns.Request) (any, error) {
		var args []string
		if err := call.Decode(&args); err != nil {
			return nil, err
		}
		return nodeCommand(a, rv, append([]string{call.Op}, args...))
	})
}

func nodeCommand(a *Announcer, rv *Rendezvous, f []string) (string, error) {
	var err error
	switch {
	case f[0] == "announce" && len(f) >= 2:
		s := announce.Service{Key: f[1]}
		for _, ad := range f[2:] {
			s.Addrs = append(s.Addrs, netip.MustParseAddr(ad))
		}
		err = a.Announce(context.Background(), s)
	case f[0] == "withdraw" && len(f) == 2:
		err = a.Withdraw(context.Background(), f[1])
	case f[0] == "dead" && len(f) == 2 && rv != nil:
		rv.MarkDead(f[1])
	case f[0] == "alive" && len(f) == 2 && rv != nil:
		rv.MarkAlive(f[1])
	case f[0] == "ifaces":
		return strings.Join(a.Interfaces(), ","), nil
	case f[0] == "stats" && len(f) == 2:
		for _, st := range a.Stats() {
			if st.Interface == f[1] {
				return fmt.Sprintf("%d %d %d %d %d %d", st.ARP.Requests, st.ARP.Replies, st.ARP.Gratuitous,
					st.NDP.Requests, st.NDP.Replies, st.NDP.Gratuitous), nil
			}
		}
		return "", fmt.Errorf("no stats for %s", f[1])
	case f[0] == "answering":
		return strconv.Itoa(len(a.Answering())), nil
	default:
		return "", fmt.Errorf("unknown command %q", strings.Join(f, " "))
	}
	return "", err
}
