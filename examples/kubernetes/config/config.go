// Package config holds the manifests that deploy lbkit-controller: the
// CustomResourceDefinitions generated from api/v1alpha1 (crd/), the
// least-privilege RBAC (rbac/), the Deployment (manager/) and an example
// pool and Service (samples/). Apply them with
//
//	kubectl apply -f config/crd -f config/rbac -f config/manager
//
// Go code (tests, tools) gets the CRDs with CRDs.
package config

// Generates api/v1alpha1/zz_generated.deepcopy.go, crd/ and rbac/role.yaml
// from the markers in api/v1alpha1 and ipamctl.
//go:generate go tool controller-gen object crd:crdVersions=v1 rbac:roleName=lbkit-controller paths=../api/... paths=../ipamctl/... output:crd:artifacts:config=crd output:rbac:artifacts:config=rbac

import (
	"embed"
	"fmt"
	"io/fs"
	"path"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

//go:embed crd/*.yaml rbac/*.yaml manager/*.yaml agent/*.yaml samples/*.yaml
var files embed.FS

// Files returns the manifests, by path relative to config/ ("crd/…").
func Files() fs.FS { return files }

// CRDs returns the CustomResourceDefinitions of lbkit's API types.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	names, err := fs.Glob(files, "crd/*.yaml")
	if err != nil {
		return nil, err
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(names))
	for _, name := range names {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		crd := new(apiextensionsv1.CustomResourceDefinition)
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			return nil, fmt.Errorf("config: %s: %w", path.Base(name), err)
		}
		crds = append(crds, crd)
	}
	return crds, nil
}
