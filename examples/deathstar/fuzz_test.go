package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzManifests feeds arbitrary bytes to each manifest parser: none may
// panic, every error must be a *ManifestError naming the file, and every
// accepted manifest must convert into valid lbkit values.
func FuzzManifests(f *testing.F) {
	for _, file := range []string{poolFile, bgpFile, l2File} {
		b, err := os.ReadFile(filepath.Join("manifests", file))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := parsePool(poolFile, data); err != nil {
			checkManifestError(t, poolFile, err)
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
		if b, err := parseBGP(bgpFile, data); err != nil {
			checkManifestError(t, bgpFile, err)
		} else if b.ASN == 0 || !b.RouterID.Is4() || len(b.Peers) == 0 {
			t.Fatalf("accepted invalid BGP policy %+v", b)
		}
		if l, err := parseL2(l2File, data); err != nil {
			checkManifestError(t, l2File, err)
		} else if len(l.Interfaces) == 0 {
			t.Fatalf("accepted L2 policy without interfaces %+v", l)
		}
	})
}

func checkManifestError(t *testing.T, file string, err error) {
	t.Helper()
	var me *ManifestError
	if !errors.As(err, &me) || me.File != file || !errors.Is(err, ErrManifest) {
		t.Fatalf("error %v (%T) is not a ManifestError for %s", err, err, file)
	}
}
