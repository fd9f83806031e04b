package l2

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lbkit/lbkit/announce"
)

// benchConn hands frames to the announcer and reports when replies are
// written.
type benchConn struct {
	*fakeConn
	written chan time.Time
}

func (c *benchConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	c.written <- time.Now()
	return len(b), nil
}

// owned10k announces 10,000 addresses (5,000 of each family) in 10,000
// services and returns them.
func owned10k(tb testing.TB, a *Announcer) []netip.Addr {
	var addrs []netip.Addr
	for i := range 5000 {
		v4 := netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)})
		v6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xde, 0xad, 0xbe, 0xef, 14: byte(i >> 8), 15: byte(i)})
		for j, ad := range []netip.Addr{v4, v6} {
			if err := a.Announce(context.Background(), announce.Service{Key: fmt.Sprintf("ns/svc-%d-%d", i, j), Addrs: []netip.Addr{ad}}); err != nil {
				tb.Fatal(err)
			}
			addrs = append(addrs, ad)
		}
	}
	return addrs
}

func queryFor(ad netip.Addr) []byte {
	if ad.Is4() {
		return arpRequest(broadcastMAC, clientV4, ad)
	}
	return nsFrame(nsOpts{src: clientV6, target: ad})
}

// BenchmarkReplyLatency measures, through the fake-conn path, the time from
// a query being handed to ReadFrom to its reply reaching WriteTo, with
// 10,000 owned addresses; it reports p50 and p99.
func BenchmarkReplyLatency(b *testing.B) {
	c := &benchConn{fakeConn: newFakeConn(), written: make(chan time.Time, 1)}
	a, err := NewWithLinks(context.Background(), Config{Gratuitous: Gratuitous{Count: -1}},
		Link{Interface: &net.Interface{Index: 1, Name: "b0", HardwareAddr: nodeMAC}, Conn: c})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	addrs := owned10k(b, a)
	frames := make([][]byte, len(addrs))
	for i, ad := range addrs {
		frames[i] = queryFor(ad)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		c.deliver(frames[(i*7919)%len(frames)])
		lat = append(lat, (<-c.written).Sub(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkHandle measures parsing a query and writing the reply, without
// the hand-off between goroutines.
func BenchmarkHandle(b *testing.B) {
	for _, family := range []string{"ARP", "NDP"} {
		b.Run(family, func(b *testing.B) {
			c := newFakeConn()
			a, err := NewWithLinks(context.Background(), Config{Gratuitous: Gratuitous{Count: -1}},
				Link{Interface: &net.Interface{Index: 1, Name: "b0", HardwareAddr: nodeMAC}, Conn: discardConn{c}})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			addrs := owned10k(b, a)
			l := a.links[1]
			f := queryFor(addrs[0])
			if family == "NDP" {
				f = queryFor(addrs[1])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				a.handle(l, f)
			}
		})
	}
}

type discardConn struct{ *fakeConn }

func (discardConn) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }

// BenchmarkAnnounce measures announcing one service with one address into
// an announcer that already answers for 10,000.
func BenchmarkAnnounce(b *testing.B) {
	a, err := NewWithLinks(context.Background(), Config{Gratuitous: Gratuitous{Count: -1}},
		Link{Interface: &net.Interface{Index: 1, Name: "b0", HardwareAddr: nodeMAC}, Conn: newFakeConn()})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	owned10k(b, a)
	s := announce.Service{Key: "bench/svc", Addrs: []netip.Addr{svcV4}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := a.Announce(context.Background(), s); err != nil {
			b.Fatal(err)
		}
		if err := a.Withdraw(context.Background(), s.Key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRendezvousLeads measures one election among 100 members.
func BenchmarkRendezvousLeads(b *testing.B) {
	var members []string
	for i := range 100 {
		members = append(members, fmt.Sprintf("node-%03d", i))
	}
	r := NewRendezvous("node-000", members...)
	b.ReportAllocs()
	for i := range b.N {
		r.Leads(members[i%100])
	}
}
