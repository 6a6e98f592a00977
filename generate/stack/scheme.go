package stack

import (
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// Scheme knows every Go type Vigil emits: the built-in kinds, the
// monitoring.coreos.com kinds and Flux's. Tests decode output strictly
// against it, and Set.Add takes apiVersion and kind from it.
var Scheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		monitoringv1.AddToScheme,
		monitoringv1alpha1.AddToScheme,
		kustomizev1.AddToScheme,
		sourcev1.AddToScheme,
	} {
		utilruntime.Must(add(s))
	}
	return s
}

// AddToScheme registers more types (a component whose CR types live in its
// own package calls it from an init function).
func AddToScheme(add func(*runtime.Scheme) error) { utilruntime.Must(add(Scheme)) }

// setTypeMeta fills apiVersion and kind from the Scheme. An object whose Go
// type is not registered is a programming error in a generator, caught by
// every golden test, so it panics rather than emitting a kindless object.
func setTypeMeta(o Object) {
	gvks, _, err := Scheme.ObjectKinds(o)
	if err != nil || len(gvks) == 0 {
		panic("stack: type not in Scheme: " + err.Error())
	}
	o.GetObjectKind().SetGroupVersionKind(gvks[0])
}
