package gossip_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbkit/lbkit/internal/netns"
	"github.com/lbkit/lbkit/l2/gossip"
)

func init() { netns.Helpers["gossip-bench"] = benchMain }

// A benchSample is what the benchmark child measured over a window.
type benchSample struct {
	Bytes   uint64  // sent on lo (IP and UDP/TCP headers included)
	CPU     float64 // seconds of CPU used by the process
	Seconds float64 // the window
}

// benchMain runs MEMBERS gossip members on loopback in one process, in a
// namespace of its own so that lo's counters count only their traffic.
// Calls: "converge" (waits until all see all), "measure" (seconds),
// "leave" (one member closes; returns how long until the others agree).
func benchMain() int {
	n, _ := strconv.Atoi(os.Getenv("MEMBERS"))
	var cs []*gossip.Cluster
	defer func() {
		for _, c := range cs {
			_ = c.Close()
		}
	}()
	for i := range n {
		cfg := gossip.Config{Name: fmt.Sprintf("m%02d", i), Bind: netip.MustParseAddrPort("127.0.0.1:0")}
		if d, err := time.ParseDuration(os.Getenv("PROBE")); err == nil {
			cfg.Timing = gossip.Timing{ProbeInterval: d, ProbeTimeout: d / 2}
		}
		if i > 0 {
			cfg.Join = []string{cs[0].Addr().String()}
		}
		c, err := gossip.New(context.Background(), cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cs = append(cs, c)
	}
	return netns.Serve(func(ctx context.Context, req netns.Request) (any, error) {
		switch req.Op {
		case "converge":
			return waitAgree(cs, 120*time.Second)
		case "measure":
			var secs float64
			if err := req.Decode(&secs); err != nil {
				return nil, err
			}
			b0, c0 := loBytes(), cpuSeconds()
			t0 := time.Now()
			time.Sleep(time.Duration(secs * float64(time.Second)))
			return benchSample{Bytes: loBytes() - b0, CPU: cpuSeconds() - c0, Seconds: time.Since(t0).Seconds()}, nil
		case "leave":
			last := cs[len(cs)-1]
			cs = cs[:len(cs)-1]
			t0 := time.Now()
			_ = last.Close()
			if _, err := waitAgree(cs, 120*time.Second); err != nil {
				return nil, err
			}
			return time.Since(t0), nil
		}
		return nil, fmt.Errorf("unknown op %q", req.Op)
	})
}

// waitAgree waits until every member of cs sees exactly cs, and returns
// how long that took.
func waitAgree(cs []*gossip.Cluster, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	var names []string
	for _, c := range cs {
		names = append(names, c.Name())
	}
	slices.Sort(names)
	for time.Since(t0) < timeout {
		agree := true
		for _, c := range cs {
			var got []string
			for _, m := range c.Members() {
				got = append(got, m.Name)
			}
			agree = agree && slices.Equal(got, names)
		}
		if agree {
			return time.Since(t0), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("%d members did not agree within %v", len(cs), timeout)
}

func loBytes() uint64 {
	b, _ := os.ReadFile("/sys/class/net/lo/statistics/tx_bytes")
	v, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkGossipTraffic measures, with the default timing, the traffic
// (bytes per second sent per member, headers included) and CPU (per cent
// of one core per member) of a converged cluster of 3, 10 and 50 members
// in one process on loopback, and how long the others take to agree after
// one member leaves. Each iteration measures a 5 s window.
// LBKIT_GOSSIP_PROBE (a duration) sets another probe interval, with half
// of it as probe timeout.
func BenchmarkGossipTraffic(b *testing.B) {
	for _, n := range []int{3, 10, 50} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			ns := netns.NewT(b, "gsb")
			c, err := ns.StartChild(context.Background(), ns.Helper("gossip-bench", fmt.Sprintf("MEMBERS=%d", n),
				"PROBE="+os.Getenv("LBKIT_GOSSIP_PROBE")))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			var conv time.Duration
			if err := c.Call(ctx, "converge", nil, &conv); err != nil {
				b.Fatal(err)
			}
			var bytes, cpu, secs float64
			b.ResetTimer()
			for range b.N {
				var s benchSample
				if err := c.Call(ctx, "measure", 5.0, &s); err != nil {
					b.Fatal(err)
				}
				bytes, cpu, secs = bytes+float64(s.Bytes), cpu+s.CPU, secs+s.Seconds
			}
			b.StopTimer()
			var leave time.Duration
			if err := c.Call(ctx, "leave", nil, &leave); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(bytes/secs/float64(n), "B/s/member")
			b.ReportMetric(100*cpu/secs/float64(n), "%cpu/member")
			b.ReportMetric(float64(leave.Milliseconds()), "ms-agree-after-leave")
			b.ReportMetric(0, "ns/op")
		})
	}
}
