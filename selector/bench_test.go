package selector

import (
	"testing"

	"github.com/lbkit/lbkit/internal/benchtest"
)

var sink bool

// mapLabels is a user-defined Labels type backed by a map.
type mapLabels map[string]string

func (m mapLabels) Lookup(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

func BenchmarkMatches(b *testing.B) {
	set := tenLabels()
	for _, bc := range []struct{ name, sel string }{
		{"1req", "org=empire"},
		{"4req", "org=empire,tier in (web,db),!canary,env notin (dev)"},
		{"4req-eq", "org=empire,env in (prod,staging),!canary,tier!=db"},
		{"4req-gt", "org=empire,env in (prod,staging),!canary,replicas>2"},
	} {
		sel := MustParse(bc.sel)
		if !sel.Matches(set) {
			b.Fatalf("%s does not match the benchmark set", bc.sel)
		}
		b.Run(bc.name+"/Set", func(b *testing.B) {
			b.ReportAllocs()
			cpu := benchtest.CPU()
			for b.Loop() {
				sink = sel.Matches(set)
			}
			benchtest.ReportCPU(b, cpu, b.N)
		})
		l := mapLabels(set)
		b.Run(bc.name+"/Labels", func(b *testing.B) {
			// A Labels implementation other than Set: the generic path.
			b.ReportAllocs()
			for b.Loop() {
				sink = sel.Matches(l)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	const s = "org=empire, env in (prod, staging), !canary, tier!=db"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	sel := MustParse("org=empire, env in (prod, staging), !canary, tier!=db")
	b.ReportAllocs()
	for b.Loop() {
		_ = sel.String()
	}
}

// BenchmarkMatchesFloor is the floor for BenchmarkMatches/4req: the four
// bare map lookups any matcher over a map must make, with keys that, like
// parsed ones, do not share memory with the set's keys.
func BenchmarkMatchesFloor(b *testing.B) {
	set := tenLabels()
	keys := []string{}
	for _, k := range []string{"canary", "env", "org", "tier"} {
		keys = append(keys, string(append([]byte(nil), k...)))
	}
	b.ReportAllocs()
	cpu := benchtest.CPU()
	for b.Loop() {
		n := 0
		for _, k := range keys {
			if _, ok := set[k]; ok {
				n++
			}
		}
		sink = n == 3
	}
	benchtest.ReportCPU(b, cpu, b.N)
}
