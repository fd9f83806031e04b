// Package bird runs BIRD 2 routers inside network namespaces for lbkit's
// interop tests and the deathstar lab: it writes a configuration, starts
// `bird -f -c conf -s sock` in an internal/netns namespace, queries it with
// birdc (protocols, routes) and stops it by pid. The core API returns
// errors; the ...T helpers wrap it for tests.
//
// Not part of lbkit's API.
package bird

import (
	"fmt"
	"net/netip"
	"strings"
)

// Config is a BIRD router's configuration.
type Config struct {
	// RouterID must be IPv4.
	RouterID netip.Addr
	// ASN is the router's AS number.
	ASN uint32
	// Neighbors are its BGP sessions.
	Neighbors []Neighbor
	// Kernel exports the best routes of both families into the
	// namespace's kernel tables (protocol kernel, export all).
	Kernel bool
	// BFD adds a BFD protocol on every interface with 300 ms intervals and
	// multiplier 3, for the neighbors with BFD.
	BFD bool
	// Extra is appended to the generated configuration verbatim.
	Extra string
}

// A Neighbor is one BGP session of the router.
type Neighbor struct {
	// Name is the BGP protocol's name in BIRD, such as "node4".
	Name string
	// Address and ASN are the neighbor's; Port defaults to 179.
	Address netip.Addr
	ASN     uint32
	Port    uint16
	// Local is the session's source address (optional).
	Local netip.Addr
	// Password enables TCP MD5 signatures.
	Password string
	// Multihop, when not 0, is the eBGP multihop TTL.
	Multihop int
	// Passive makes BIRD wait for the neighbor to connect.
	Passive bool
	// IPv4 and IPv6 select the channels; when both are false the channel
	// of Address's family is used.
	IPv4, IPv6 bool
	// ExportAll makes BIRD send its routes to the neighbor (it sends
	// nothing by default), including those learned from other neighbors.
	ExportAll bool
	// GracefulRestart makes BIRD advertise graceful restart; BIRD is a
	// graceful-restart helper ("aware") by default anyway.
	GracefulRestart bool
	// ConnectRetry and HoldTime in seconds; 0 means BIRD's default, except
	// that ConnectRetry defaults to 1 here and error wait times are short,
	// so that tests do not wait.
	ConnectRetry, HoldTime int
	// BFD asks the BFD protocol (Config.BFD) for a session with the
	// neighbor; BIRD takes the session down when BFD goes down.
	BFD bool
}

func (n Neighbor) channels() (v4, v6 bool) {
	if !n.IPv4 && !n.IPv6 {
		return n.Address.Is4(), n.Address.Is6()
	}
	return n.IPv4, n.IPv6
}

// Render returns the BIRD 2 configuration text.
func (c Config) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "router id %s;\n", c.RouterID)
	b.WriteString("timeformat protocol iso long;\ntimeformat route iso long;\n")
	b.WriteString("protocol device { scan time 1; }\n")
	if c.Kernel {
		b.WriteString("protocol kernel kernel4 { ipv4 { export all; }; }\n")
		b.WriteString("protocol kernel kernel6 { ipv6 { export all; }; }\n")
	}
	if c.BFD {
		b.WriteString("protocol bfd {\n\tinterface \"*\" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };\n}\n")
	}
	for _, n := range c.Neighbors {
		n.render(&b, c.ASN)
	}
	b.WriteString(c.Extra)
	return b.String()
}

func (n Neighbor) render(b *strings.Builder, asn uint32) {
	fmt.Fprintf(b, "protocol bgp %s {\n", n.Name)
	fmt.Fprintf(b, "\tlocal as %d;\n", asn)
	if n.Local.IsValid() {
		fmt.Fprintf(b, "\tsource address %s;\n", n.Local)
	}
	fmt.Fprintf(b, "\tneighbor %s", n.Address)
	if n.Port != 0 {
		fmt.Fprintf(b, " port %d", n.Port)
	}
	fmt.Fprintf(b, " as %d;\n", n.ASN)
	if n.Password != "" {
		fmt.Fprintf(b, "\tpassword %q;\n", n.Password)
	}
	if n.Multihop != 0 {
		fmt.Fprintf(b, "\tmultihop %d;\n", n.Multihop)
	}
	if n.Passive {
		b.WriteString("\tpassive on;\n")
	}
	if n.GracefulRestart {
		b.WriteString("\tgraceful restart on;\n")
	}
	retry := n.ConnectRetry
	if retry == 0 {
		retry = 1
	}
	fmt.Fprintf(b, "\tconnect retry time %d;\n\terror wait time 1, 5;\n", retry)
	if n.HoldTime != 0 {
		fmt.Fprintf(b, "\thold time %d;\n", n.HoldTime)
	}
	if n.BFD {
		b.WriteString("\tbfd on;\n")
	}
	export := "none"
	if n.ExportAll {
		export = "all"
	}
	v4, v6 := n.channels()
	if v4 {
		fmt.Fprintf(b, "\tipv4 { import all; export %s; };\n", export)
	}
	if v6 {
		fmt.Fprintf(b, "\tipv6 { import all; export %s; };\n", export)
	}
	b.WriteString("}\n")
}
