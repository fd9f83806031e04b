package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
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
