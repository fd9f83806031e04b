package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzManifests feeds arbitrary bytes to each manifest parser: none may
// panic, every error must be a *Error naming the file, and every
// accepted manifest must convert into valid lbkit values.
func FuzzManifests(f *testing.F) {
	for _, file := range []string{PoolFile, BGPFile, L2File} {
		b, err := os.ReadFile(filepath.Join("../manifests", file))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := parsePool(PoolFile, data); err != nil {
			checkError(t, PoolFile, err)
		} else {
			if p.Name == "" || len(p.Ranges) == 0 {
				t.Fatalf("accepted pool without name or ranges: %+v", p)
			}
			for _, r := range p.Ranges {
				if !r.IsValid() {
					t.Fatalf("accepted invalid range in %+v", p)
				}
			}
		}
		if b, err := parseBGP(BGPFile, data); err != nil {
			checkError(t, BGPFile, err)
		} else if b.ASN == 0 || !b.RouterID.Is4() || len(b.Peers) == 0 {
			t.Fatalf("accepted invalid BGP policy %+v", b)
		}
		if l, err := parseL2(L2File, data); err != nil {
			checkError(t, L2File, err)
		} else if len(l.Interfaces) == 0 {
			t.Fatalf("accepted L2 policy without interfaces %+v", l)
		}
	})
}

func checkError(t *testing.T, file string, err error) {
	t.Helper()
	var me *Error
	if !errors.As(err, &me) || me.File != file || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v (%T) is not an *Error for %s", err, err, file)
	}
}
