package overlays

// Hooks for the tests in package overlays_test, which read the real example
// environments through package generate (which imports this one).

import "github.com/google/go-cmp/cmp"

// TestUnit is one Flux Kustomization of the dependency graph as tests see it.
type TestUnit struct {
	Name string
	// Objects are "Group/Kind namespace/name" of what the unit applies.
	Objects []string
	// Deps are its dependsOn, reduced; Why are the references behind
	// each dependency before reduction, as text.
	Deps []string
	Why  map[string][]string
	Gate bool
}

// TestRef is one reference between two units.
type TestRef struct{ From, To, Text string }

// GraphForTest exposes the graph of an environment.
func GraphForTest(env Environment) ([]*TestUnit, []TestRef, error) {
	g, err := graphOf(env)
	if err != nil {
		return nil, nil, err
	}
	var units []*TestUnit
	for _, n := range g.nodes {
		u := &TestUnit{Name: n.name, Deps: n.deps, Why: map[string][]string{}, Gate: n.kind == gateNode}
		for _, o := range n.objects {
			u.Objects = append(u.Objects, o.key.Group+"/"+o.key.Kind+" "+o.key.Namespace+"/"+o.key.Name)
		}
		for d, rs := range n.why {
			for _, r := range rs {
				u.Why[d] = append(u.Why[d], r.String())
			}
		}
		units = append(units, u)
	}
	var refs []TestRef
	for _, r := range g.refs {
		refs = append(refs, TestRef{From: r.from, To: r.to, Text: r.reference.String()})
	}
	return units, refs, nil
}

// CompilerDiffForTest is a -a +b diff of everything two Compilers hold:
// their bases, the checks that verify them, and the base objects
// environments are compiled against.
func CompilerDiffForTest(a, b *Compiler) string {
	opts := cmp.AllowUnexported(baseGroup{}, object{}, rendered{}, buildCheck{}, Tree{})
	return cmp.Diff(a.index, b.index, opts) + cmp.Diff(a.base, b.base, opts)
}
