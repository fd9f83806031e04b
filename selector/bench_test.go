package selector

import "testing"

var sink bool

func BenchmarkMatches(b *testing.B) {
	set := tenLabels()
	for _, bc := range []struct{ name, sel string }{
		{"1req", "org=empire"},
		{"4req", "org=empire,env in (prod,staging),!canary,tier!=db"},
		{"4req-gt", "org=empire,env in (prod,staging),!canary,replicas>2"},
	} {
		sel := MustParse(bc.sel)
		if !sel.Matches(set) {
			b.Fatalf("%s does not match the benchmark set", bc.sel)
		}
		b.Run(bc.name+"/Set", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = sel.Matches(set)
			}
		})
		var l Labels = set
		b.Run(bc.name+"/Labels", func(b *testing.B) {
			// l hides its dynamic type from the compiler, as in real callers.
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
