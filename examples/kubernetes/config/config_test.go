package config_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lbkit/lbkit/examples/kubernetes/config"
)

// The committed CRDs, RBAC and deepcopy code are what controller-gen makes
// of the markers today (run `go generate ./config` otherwise).
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs controller-gen")
	}
	tmp := t.TempDir()
	controllerGen(t, "crd:crdVersions=v1", "rbac:roleName=lbkit-controller",
		"paths=../api/...", "paths=../ipamctl/...",
		"output:crd:artifacts:config="+filepath.Join(tmp, "crd"),
		"output:rbac:artifacts:config="+filepath.Join(tmp, "rbac"))
	files, err := filepath.Glob(filepath.Join(tmp, "*", "*"))
	if err != nil || len(files) < 2 {
		t.Fatalf("generated %v, %v", files, err)
	}
	for _, gen := range files {
		rel, _ := filepath.Rel(tmp, gen)
		want, err := os.ReadFile(gen)
		if err != nil {
			t.Fatal(err)
		}
		same(t, rel, want)
	}
	deepcopy := controllerGen(t, "object", "paths=../api/...", "output:object:stdout")
	same(t, "../api/v1alpha1/zz_generated.deepcopy.go", deepcopy)
}

// controllerGen runs controller-gen with args and returns its output.
func controllerGen(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "controller-gen"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("controller-gen %v: %v", args, err)
	}
	return out
}

// same reports an error unless the committed file holds want.
func same(t *testing.T, committed string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Errorf("%s: %v (run go generate ./config)", committed, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go generate ./config", committed)
	}
}

func TestCRDs(t *testing.T) {
	crds, err := config.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, crd := range crds {
		names = append(names, crd.Name)
	}
	want := []string{"bgppeeringpolicies.lbkit.io", "l2announcementpolicies.lbkit.io", "loadbalancerippools.lbkit.io"}
	if !slices.Equal(names, want) {
		t.Fatalf("CRDs %v, want %v", names, want)
	}
}
