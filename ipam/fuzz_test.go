package ipam

import (
	"errors"
	"testing"
)

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/24", "2001:db8::/64", "10.0.0.5-10.0.0.9", "10.0.0.5 - 10.0.0.9", "2001:db8::1-2001:db8::ff",
		"10.0.0.7", "::/0", "0.0.0.0/0", "10.0.0.1/24", "fe80::1%eth0", "::ffff:1.2.3.4", "10.0.0.9-10.0.0.5",
		"10.0.0.1-2001:db8::1", "", "-", "1.2.3.4-", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) || r != (Range{}) {
				t.Fatalf("ParseRange(%q) = %v, %v", s, r, err)
			}
			return
		}
		if !r.IsValid() || !r.Contains(r.From()) || !r.Contains(r.To()) || r.To().Less(r.From()) {
			t.Fatalf("ParseRange(%q) = %v: bad bounds", s, r)
		}
		if r.Size().Sign() <= 0 || !r.Overlaps(r) {
			t.Fatalf("ParseRange(%q) = %v: size %v", s, r, r.Size())
		}
		back, err := ParseRange(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRange(%q).String() = %q does not round-trip: %v, %v", s, r.String(), back, err)
		}
		if p, ok := r.Prefix(); ok && PrefixRange(p) != r {
			t.Fatalf("Prefix of %v = %v, PrefixRange gives %v", r, p, PrefixRange(p))
		}
	})
}

// FuzzAllocator runs operation sequences against the reference model. The
// first byte picks the pool and mode, the rest are (op, arg) pairs.
func FuzzAllocator(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 1, 5, 2, 0, 3, 9})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 1, 0, 1, 2, 0, 2, 1})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 1, 2, 2, 2, 3})
	f.Add([]byte{3, 1, 0, 1, 1, 1, 2, 0, 0, 0, 0, 0, 0, 3, 0, 3, 1})
	f.Add([]byte{4, 0, 0, 0, 2, 0, 4, 2, 1, 1, 8, 1, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 2001 {
			return
		}
		c := int(data[0]) % len(modelConfigs)
		md := modes[int(data[0])/len(modelConfigs)%len(modes)]
		h := newHarness(t, c, md, uint64(data[0]))
		for i := 1; i+1 < len(data); i += 2 {
			if err := h.step(data[i], data[i+1]); err != nil {
				t.Fatalf("op %d: %v", i/2, err)
			}
			checkInvariants(t, h.a)
		}
		if err := h.checkCounts(); err != nil {
			t.Fatal(err)
		}
	})
}
