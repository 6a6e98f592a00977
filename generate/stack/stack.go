// Package stack owns what every component generator shares: the deploy
// layers, the Set of typed objects a generator returns, the recommended labels
// and the table of pinned upstream versions.
//
// A component package (generate/prometheus, generate/spark, …) never writes
// YAML: it adds typed Kubernetes objects to a Set, each tagged with the
// component it belongs to and the layer it is deployed in. The overlay
// compiler turns a Set into kustomize bases, overlays and Flux Kustomizations.
package stack

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Layer is a deploy stage. Flux reconciles one Kustomization per layer, and
// a layer is applied only once the layers it depends on are ready.
type Layer int

// The layers in deploy order. The order is the one of stack.md's dependency
// table, folded to the stages whose contents need different gates.
const (
	// Namespaces holds every Namespace the stack uses.
	Namespaces Layer = iota
	// CRDs holds CustomResourceDefinitions, which must exist before any CR.
	CRDs
	// Storage holds StorageClasses and the storage driver configuration;
	// anything with a PVC comes after it.
	Storage
	// Node holds node-level DaemonSets that need no operator (NPD,
	// vm.max_map_count).
	Node
	// Operators holds controllers and their webhooks.
	Operators
	// Instances holds the custom resources and workloads the operators run.
	Instances
	// Content holds rules, dashboards, monitors and alert routing, which need
	// running instances to be useful.
	Content
)

var layerNames = [...]string{"namespaces", "crds", "storage", "node", "operators", "instances", "content"}

// AllLayers lists every layer in deploy order.
func AllLayers() []Layer {
	return []Layer{Namespaces, CRDs, Storage, Node, Operators, Instances, Content}
}

func (l Layer) String() string {
	if l < 0 || int(l) >= len(layerNames) {
		return fmt.Sprintf("layer(%d)", int(l))
	}
	return layerNames[l]
}

// ParseLayer is the inverse of Layer.String.
func ParseLayer(s string) (Layer, error) {
	for i, n := range layerNames {
		if n == s {
			return Layer(i), nil
		}
	}
	return 0, fmt.Errorf("unknown layer %q", s)
}

// Object is a typed Kubernetes object: anything with ObjectMeta and TypeMeta.
type Object interface {
	metav1.Object
	runtime.Object
}

// Resource is one object of the stack with where it belongs.
type Resource struct {
	// Component is the generator that made the object ("prometheus",
	// "spark-history-server", …); it becomes the base directory name.
	Component string
	Layer     Layer
	Object    Object
}

// Upstream is a set of manifests Vigil does not generate but references at a
// pinned version (CRDs that must match upstream byte for byte). Flux fetches
// it through a GitRepository and applies Path from it in Layer.
type Upstream struct {
	// Name names the Flux source and Kustomization, e.g. "prometheus-operator-crds".
	Name      string
	Component string
	Layer     Layer
	URL       string
	Tag       string
	// Path is the directory inside the repository, e.g. "./example/prometheus-operator-crd".
	Path string
	// Groups are the API groups whose CRDs it holds that Vigil's objects
	// use; a custom resource of one of them is applied only after it.
	Groups []string
}

// Set collects the objects of one environment. The zero value is ready to use.
type Set struct {
	resources []Resource
	upstreams []Upstream
}

// Add appends objects of one component in one layer. It sets each object's
// apiVersion and kind from the Scheme, so generators need not fill TypeMeta.
func (s *Set) Add(component string, layer Layer, objs ...Object) {
	for _, o := range objs {
		setTypeMeta(o)
		s.resources = append(s.resources, Resource{Component: component, Layer: layer, Object: o})
	}
}

// AddUpstream records manifests referenced at a pinned version.
func (s *Set) AddUpstream(u Upstream) { s.upstreams = append(s.upstreams, u) }

// RewriteUpstreams replaces every upstream's URL with rewrite's answer
// (a mirror of it).
func (s *Set) RewriteUpstreams(rewrite func(url string) string) {
	for i := range s.upstreams {
		s.upstreams[i].URL = rewrite(s.upstreams[i].URL)
	}
}

// Merge appends everything of other to s.
func (s *Set) Merge(other *Set) {
	s.resources = append(s.resources, other.resources...)
	s.upstreams = append(s.upstreams, other.upstreams...)
}

// Resources returns the objects in a fixed order (layer, component, kind,
// namespace, name), whatever order the generators added them in.
func (s *Set) Resources() []Resource {
	out := append([]Resource(nil), s.resources...)
	sort.SliceStable(out, func(i, j int) bool { return resourceLess(out[i], out[j]) })
	return out
}

// Upstreams returns the referenced upstream manifests sorted by name.
func (s *Set) Upstreams() []Upstream {
	out := append([]Upstream(nil), s.upstreams...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func resourceLess(a, b Resource) bool {
	if a.Layer != b.Layer {
		return a.Layer < b.Layer
	}
	if a.Component != b.Component {
		return a.Component < b.Component
	}
	ka, kb := a.Object.GetObjectKind().GroupVersionKind().Kind, b.Object.GetObjectKind().GroupVersionKind().Kind
	if ka != kb {
		return ka < kb
	}
	if a.Object.GetNamespace() != b.Object.GetNamespace() {
		return a.Object.GetNamespace() < b.Object.GetNamespace()
	}
	return a.Object.GetName() < b.Object.GetName()
}
