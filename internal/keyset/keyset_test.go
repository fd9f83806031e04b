package keyset

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestModel compares random Add/Remove sequences with a map.
func TestModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s Set
	model := map[string]bool{}
	for i := range 2000 {
		k := fmt.Sprintf("ns/svc%d", rng.IntN(20))
		if rng.IntN(2) == 0 {
			s = s.Add(k)
			model[k] = true
		} else {
			s = s.Remove(k)
			delete(model, k)
		}
		want := make([]string, 0, len(model))
		for k := range model {
			want = append(want, k)
		}
		slices.Sort(want)
		if !slices.Equal(s, want) {
			t.Fatalf("step %d: set %v, model %v", i, s, want)
		}
		owner, ok := s.Owner()
		if ok != (len(want) > 0) || (ok && owner != want[0]) {
			t.Fatalf("step %d: Owner() = %q, %v; want the smallest of %v", i, owner, ok, want)
		}
	}
}

func ExampleSet() {
	var s Set
	s = s.Add("empire/tie-fighter").Add("batuu/deathstar").Add("batuu/deathstar")
	fmt.Println(s)
	fmt.Println(s.Owner())
	s = s.Remove("batuu/deathstar")
	fmt.Println(s.Owner())
	s = s.Remove("empire/tie-fighter")
	fmt.Println(s.Owner())
	// Output:
	// [batuu/deathstar empire/tie-fighter]
	// batuu/deathstar true
	// empire/tie-fighter true
	//  false
}
