package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// GroupVersion is the API group and version of lbkit's types.
var GroupVersion = schema.GroupVersion{Group: "lbkit.io", Version: "v1alpha1"}

var (
	// SchemeBuilder registers lbkit's types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	// AddToScheme adds lbkit's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// NewScheme returns a scheme that knows Kubernetes' built-in types and
// lbkit's: the one the controller, the agent and their tests use.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err) // static registration; cannot fail
	}
	if err := AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}
