package bird

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A Protocol is one line of `birdc show protocols`.
type Protocol struct {
	Name, Proto, Table, State string
	// Info is the rest of the line, such as "Established" or
	// "Active        Socket: Connection refused".
	Info string
}

// Established reports whether p is a BGP session in state Established.
func (p Protocol) Established() bool {
	return p.State == "up" && strings.HasPrefix(p.Info, "Established")
}

// ParseProtocols parses `birdc show protocols` output written with
// "timeformat protocol iso long" (the date and time are two fields).
func ParseProtocols(out string) []Protocol {
	var ps []Protocol
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] == "Name" || strings.HasPrefix(line, "BIRD") {
			continue
		}
		p := Protocol{Name: f[0], Proto: f[1], Table: f[2], State: f[3]}
		if len(f) > 6 {
			p.Info = strings.Join(f[6:], " ")
		}
		ps = append(ps, p)
	}
	return ps
}

// A Route is one route of `birdc show route all`.
type Route struct {
	Table    string // "master4", "master6"
	Prefix   netip.Prefix
	Protocol string // the protocol that learned it, such as "node4"
	Primary  bool   // the best route for its prefix ("*")
	// Gateway is the resolved next hop ("via ... on ..."), Interface its
	// interface.
	Gateway   netip.Addr
	Interface string
	// BGP attributes.
	NextHops         []netip.Addr // BGP.next_hop: global, then link-local
	ASPath           string
	Communities      []string // "65000:100"
	LargeCommunities []string // "65000:1:1"
	LocalPref, MED   *uint32
}

// String returns a one-line summary of r.
func (r Route) String() string {
	return fmt.Sprintf("%s via %v (%s) nh=%v as=%q comm=%v lc=%v", r.Prefix, r.Gateway, r.Protocol, r.NextHops, r.ASPath, r.Communities, r.LargeCommunities)
}

// ParseRoutes parses `birdc show route all` output.
func ParseRoutes(out string) ([]Route, error) {
	var (
		rs     []Route
		table  string
		prefix netip.Prefix
	)
	for _, line := range strings.Split(out, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(line, "BIRD"):
		case strings.HasPrefix(line, "Table "):
			table = strings.TrimSuffix(strings.TrimPrefix(line, "Table "), ":")
		case !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t"):
			f := strings.Fields(line)
			p, err := netip.ParsePrefix(f[0])
			if err != nil {
				return nil, fmt.Errorf("bird: route line %q: %w", line, err)
			}
			prefix = p
			rs = append(rs, routeHead(table, prefix, line))
		case strings.HasPrefix(line, " ") && strings.Contains(line, "["):
			// Another route for the same prefix.
			rs = append(rs, routeHead(table, prefix, line))
		case len(rs) > 0:
			if err := rs[len(rs)-1].attr(trimmed); err != nil {
				return nil, err
			}
		}
	}
	return rs, nil
}

func routeHead(table string, p netip.Prefix, line string) Route {
	r := Route{Table: table, Prefix: p}
	if _, rest, ok := strings.Cut(line, "["); ok {
		if f := strings.Fields(rest); len(f) > 0 {
			r.Protocol = f[0]
		}
	}
	if _, rest, ok := strings.Cut(line, "]"); ok {
		r.Primary = strings.HasPrefix(strings.TrimSpace(rest), "*")
	}
	return r
}

// attr applies one indented attribute line to r.
func (r *Route) attr(line string) error {
	if rest, ok := strings.CutPrefix(line, "via "); ok {
		f := strings.Fields(rest)
		gw, err := netip.ParseAddr(f[0])
		if err != nil {
			return fmt.Errorf("bird: gateway in %q: %w", line, err)
		}
		r.Gateway = gw
		if len(f) >= 3 && f[1] == "on" {
			r.Interface = f[2]
		}
		return nil
	}
	key, val, ok := strings.Cut(line, ":")
	if !ok {
		return nil
	}
	val = strings.TrimSpace(val)
	switch key {
	case "BGP.next_hop":
		for _, s := range strings.Fields(val) {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("bird: next hop in %q: %w", line, err)
			}
			r.NextHops = append(r.NextHops, a)
		}
	case "BGP.as_path":
		r.ASPath = val
	case "BGP.community":
		r.Communities = tuples(val)
	case "BGP.large_community":
		r.LargeCommunities = tuples(val)
	case "BGP.local_pref":
		r.LocalPref = parseU32(val)
	case "BGP.med":
		r.MED = parseU32(val)
	}
	return nil
}

// tuples turns "(65000,100) (65000,200)" or "(65000, 1, 1)" into
// ["65000:100", "65000:200"] or ["65000:1:1"].
func tuples(val string) []string {
	var out []string
	for _, t := range strings.Split(val, ")") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "("))
		if t == "" {
			continue
		}
		parts := strings.Split(t, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		out = append(out, strings.Join(parts, ":"))
	}
	return out
}

func parseU32(s string) *uint32 {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return nil
	}
	u := uint32(v)
	return &u
}
