package l2

import (
	"bufio"
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
// "/v1/" on, comma-separated host:port). It reads commands from stdin and
// answers each with one line ("ok ..." or "err ...") on stdout:
//
//	announce KEY ADDR...   withdraw KEY   dead NAME   alive NAME
//	ifaces                 answering      stats IFACE   quit
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
		fmt.Println("err", err)
		return 1
	}
	defer a.Close()
	for _, addr := range strings.Split(os.Getenv("L2_HTTP"), ",") {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Println("err", err)
			return 1
		}
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "deathstar %s via %s\n", r.URL.Path, self)
			}))
		}()
	}
	fmt.Println("ok ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "quit" {
			fmt.Println("ok")
			return 0
		}
		fmt.Println(nodeCommand(a, rv, f))
	}
	return 0
}

func nodeCommand(a *Announcer, rv *Rendezvous, f []string) string {
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
		return "ok " + strings.Join(a.Interfaces(), ",")
	case f[0] == "stats" && len(f) == 2:
		for _, st := range a.Stats() {
			if st.Interface == f[1] {
				return fmt.Sprintf("ok %d %d %d %d %d %d", st.ARP.Requests, st.ARP.Replies, st.ARP.Gratuitous,
					st.NDP.Requests, st.NDP.Replies, st.NDP.Gratuitous)
			}
		}
		return "err no stats for " + f[1]
	case f[0] == "answering":
		return "ok " + strconv.Itoa(len(a.Answering()))
	default:
		return "err unknown command " + strings.Join(f, " ")
	}
	if err != nil {
		return "err " + err.Error()
	}
	return "ok"
}
