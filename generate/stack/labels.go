package stack

// Label keys every object carries.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelVersion   = "app.kubernetes.io/version"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelEnvironment names the Vigil environment an object was rendered
	// for. Generators do not set it: the overlay compiler adds it to every
	// object through the environment's kustomization, so that bases stay the
	// same for every environment.
	LabelEnvironment = "vigil.dev/environment"
)

// Labels returns the recommended labels of one workload. name is the
// application ("prometheus"), component its role in it ("controller").
// The result is a fresh map the caller may extend.
func Labels(name, component, version string) map[string]string {
	l := map[string]string{
		LabelName:      name,
		LabelInstance:  name,
		LabelPartOf:    "vigil",
		LabelManagedBy: "vigil",
	}
	if component != "" {
		l[LabelComponent] = component
	}
	if version != "" {
		l[LabelVersion] = version
	}
	return l
}

// SelectorLabels is the stable subset of Labels used in selectors: it must
// not contain the version, which changes on upgrade while selectors are
// immutable.
func SelectorLabels(name, component string) map[string]string {
	l := map[string]string{LabelName: name, LabelInstance: name}
	if component != "" {
		l[LabelComponent] = component
	}
	return l
}
