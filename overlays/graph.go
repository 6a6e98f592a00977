package overlays

import (
	"fmt"
	"sort"
	"strings"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/vigil-stack/vigil/generate/stack"
)

// layerAfter is the layer graph: the layers each layer must be applied
// after, whatever they contain. Only the edges that hold by definition of the
// layers are here; edges that depend on what a layer holds (a custom resource
// needs the crds layer, a PVC the storage layer, a namespaced object the
// namespaces layer) are added from the objects by layerDeps.
var layerAfter = map[stack.Layer][]stack.Layer{
	stack.Namespaces: nil,
	// CRDs are cluster-scoped and need nothing.
	stack.CRDs: nil,
	// Storage classes are cluster-scoped, the driver's configuration is not
	// (and, when it is a custom resource, the contents rule adds crds).
	stack.Storage: {stack.Namespaces},
	stack.Node:    {stack.Namespaces},
	// Operators watch their CRDs from the start.
	stack.Operators: {stack.Namespaces, stack.CRDs},
	// Instances are reconciled by operators, claim storage and may need the
	// node settings (vm.max_map_count) in place before their pods start.
	stack.Instances: {stack.Storage, stack.Node, stack.Operators},
	// Rules, monitors and dashboards are only useful once instances run.
	stack.Content: {stack.Instances},
}

// layerFacts is what the dependency rules need to know about a layer.
type layerFacts struct {
	objects    int
	namespaced bool // holds a namespaced object: needs the namespaces layer
	custom     bool // holds a custom resource: needs the crds layer
	claims     bool // holds a PVC or a PVC template: needs the storage layer
	// standalonePVCs lists the PersistentVolumeClaims applied as objects;
	// see fluxKustomization for why they matter.
	standalonePVCs []objKey
}

// builtinGroups are served by every API server without a CRD but are not in
// client-go's scheme.
var builtinGroups = map[string]bool{"apiextensions.k8s.io": true, "apiregistration.k8s.io": true}

func isCustomResource(k objKey) bool {
	if builtinGroups[k.Group] {
		return false
	}
	return !clientgoscheme.Scheme.IsGroupRegistered(k.Group)
}

func factsOf(objs []*object) map[stack.Layer]*layerFacts {
	facts := map[stack.Layer]*layerFacts{}
	for _, o := range objs {
		f := facts[o.layer]
		if f == nil {
			f = &layerFacts{}
			facts[o.layer] = f
		}
		f.objects++
		if o.key.Namespace != "" {
			f.namespaced = true
		}
		if isCustomResource(o.key) {
			f.custom = true
		}
		switch {
		case o.key.Group == "" && o.key.Kind == "PersistentVolumeClaim":
			f.claims = true
			f.standalonePVCs = append(f.standalonePVCs, o.key)
		case o.key.Group == "apps" && o.key.Kind == "StatefulSet":
			spec, _ := o.m["spec"].(map[string]any)
			if t, _ := spec["volumeClaimTemplates"].([]any); len(t) > 0 {
				f.claims = true
			}
		}
	}
	return facts
}

// fluxNode is one Flux Kustomization of an environment.
type fluxNode struct {
	name  string
	layer stack.Layer
	// upstream is set for the Kustomization applying upstream manifests.
	upstream *stack.Upstream
	// deps are the names of the Kustomizations this one depends on, sorted,
	// without the ones implied through another dependency.
	deps []string
}

// depGraph is the Flux dependency graph of one environment, its nodes in
// deploy order (layer, then Vigil's own Kustomization, then upstreams by
// name).
type depGraph struct {
	env     string
	nodes   []*fluxNode
	facts   map[stack.Layer]*layerFacts
	objects map[stack.Layer][]*object
}

func layerKustomizationName(env string, l stack.Layer) string { return env + "-" + l.String() }

func upstreamName(env string, u stack.Upstream) string { return env + "-" + u.Name }

func buildGraph(env string, objs []*object, ups []stack.Upstream) (*depGraph, error) {
	g := &depGraph{env: env, facts: factsOf(objs), objects: map[stack.Layer][]*object{}}
	for _, o := range objs {
		g.objects[o.layer] = append(g.objects[o.layer], o)
	}
	groups := map[stack.Layer][]*fluxNode{}
	names := map[string]string{}
	add := func(n *fluxNode, what string) error {
		if len(n.name) > 63 {
			// kustomize-controller puts the name in a label value.
			return fmt.Errorf("flux Kustomization name %q for %s is longer than 63 characters", n.name, what)
		}
		if prev, ok := names[n.name]; ok {
			return fmt.Errorf("flux Kustomization name %q is used by both %s and %s", n.name, prev, what)
		}
		names[n.name] = what
		groups[n.layer] = append(groups[n.layer], n)
		g.nodes = append(g.nodes, n)
		return nil
	}
	for _, l := range stack.AllLayers() {
		if f := g.facts[l]; f != nil && f.objects > 0 {
			if err := add(&fluxNode{name: layerKustomizationName(env, l), layer: l}, "layer "+l.String()); err != nil {
				return nil, err
			}
		}
		for i := range ups {
			if ups[i].Layer != l {
				continue
			}
			u := ups[i]
			if err := add(&fluxNode{name: upstreamName(env, u), layer: l, upstream: &u}, "upstream "+u.Name); err != nil {
				return nil, err
			}
		}
	}
	nonEmpty := func(l stack.Layer) bool { return len(groups[l]) > 0 }
	// forward resolves an edge to layer l into edges to non-empty layers:
	// an empty layer passes its own dependencies on.
	var forward func(l stack.Layer, into map[stack.Layer]bool)
	forward = func(l stack.Layer, into map[stack.Layer]bool) {
		if nonEmpty(l) {
			into[l] = true
			return
		}
		for _, d := range layerAfter[l] {
			forward(d, into)
		}
	}
	for _, l := range stack.AllLayers() {
		if !nonEmpty(l) {
			continue
		}
		after := map[stack.Layer]bool{}
		for _, d := range layerDeps(l, g.facts[l]) {
			if d == l {
				continue
			}
			forward(d, after)
		}
		delete(after, l)
		var deps []string
		for d := range after {
			for _, n := range groups[d] {
				deps = append(deps, n.name)
			}
		}
		sort.Strings(deps)
		for _, n := range groups[l] {
			n.deps = append([]string(nil), deps...)
		}
	}
	if cycle := g.findCycle(); cycle != nil {
		return nil, fmt.Errorf("environment %s: dependency cycle between Flux Kustomizations: %s", env, strings.Join(cycle, " -> "))
	}
	g.reduce()
	return g, nil
}

func validLayer(l stack.Layer) bool {
	for _, x := range stack.AllLayers() {
		if x == l {
			return true
		}
	}
	return false
}

// layerDeps is the layer graph edge set of one layer: the fixed edges plus
// the ones its contents call for.
func layerDeps(l stack.Layer, f *layerFacts) []stack.Layer {
	deps := append([]stack.Layer(nil), layerAfter[l]...)
	if f != nil {
		if f.namespaced {
			deps = append(deps, stack.Namespaces)
		}
		if f.custom {
			deps = append(deps, stack.CRDs)
		}
		if f.claims {
			deps = append(deps, stack.Storage)
		}
	}
	return deps
}

func (g *depGraph) byName() map[string]*fluxNode {
	m := make(map[string]*fluxNode, len(g.nodes))
	for _, n := range g.nodes {
		m[n.name] = n
	}
	return m
}

// findCycle returns one dependency cycle, first node repeated at the end, or
// nil. Nodes and edges are visited in a fixed order so the same cycle is
// reported every time.
func (g *depGraph) findCycle() []string {
	idx := g.byName()
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stackPath []string
	var visit func(n string) []string
	visit = func(n string) []string {
		color[n] = grey
		stackPath = append(stackPath, n)
		for _, d := range idx[n].deps {
			switch color[d] {
			case grey:
				for i, s := range stackPath {
					if s == d {
						return append(append([]string(nil), stackPath[i:]...), d)
					}
				}
			case white:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stackPath = stackPath[:len(stackPath)-1]
		color[n] = black
		return nil
	}
	for _, n := range g.nodes {
		if color[n.name] == white {
			if c := visit(n.name); c != nil {
				return c
			}
		}
	}
	return nil
}

// reduce drops every dependency implied through another one, so each
// Kustomization lists only what it directly waits for. Flux dependencies are
// transitive in effect (a Kustomization whose dependency is not ready is not
// ready itself), so the deploy order is unchanged. The graph is acyclic here.
func (g *depGraph) reduce() {
	idx := g.byName()
	reach := map[string]map[string]bool{}
	var reachable func(n string) map[string]bool
	reachable = func(n string) map[string]bool {
		if r, ok := reach[n]; ok {
			return r
		}
		r := map[string]bool{}
		for _, d := range idx[n].deps {
			r[d] = true
			for x := range reachable(d) {
				r[x] = true
			}
		}
		reach[n] = r
		return r
	}
	for _, n := range g.nodes {
		var kept []string
		for _, d := range n.deps {
			implied := false
			for _, other := range n.deps {
				if other != d && reachable(other)[d] {
					implied = true
					break
				}
			}
			if !implied {
				kept = append(kept, d)
			}
		}
		n.deps = kept
	}
}

// Graph renders the Flux dependency graph of an environment, arrows pointing
// from a Kustomization to the ones that wait for it (apply order). format is
// "mermaid" (a flowchart for Markdown) or "dot" (Graphviz). The output is
// deterministic.
func Graph(env Environment, format string) (string, error) {
	if err := validName("environment name", env.Name); err != nil {
		return "", err
	}
	if env.Objects == nil {
		return "", fmt.Errorf("environment %s: no object set", env.Name)
	}
	objs, err := collect(env.Objects, "environment "+env.Name)
	if err != nil {
		return "", err
	}
	ups, err := upstreams(env)
	if err != nil {
		return "", err
	}
	g, err := buildGraph(env.Name, objs, ups)
	if err != nil {
		return "", err
	}
	switch format {
	case "mermaid":
		return g.mermaid(), nil
	case "dot":
		return g.dot(), nil
	}
	return "", fmt.Errorf("unknown graph format %q (want mermaid or dot)", format)
}

func (n *fluxNode) label() string {
	if n.upstream != nil {
		return n.name + " (" + n.upstream.Tag + ")"
	}
	return n.name
}

func (g *depGraph) mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	id := map[string]string{}
	for i, n := range g.nodes {
		id[n.name] = fmt.Sprintf("n%d", i)
		if n.upstream != nil {
			// Stadium shape marks manifests Vigil references, not renders.
			fmt.Fprintf(&b, "    %s([%s])\n", id[n.name], quote(n.label()))
		} else {
			fmt.Fprintf(&b, "    %s[%s]\n", id[n.name], quote(n.label()))
		}
	}
	for _, n := range g.nodes {
		for _, d := range n.deps {
			fmt.Fprintf(&b, "    %s --> %s\n", id[d], id[n.name])
		}
	}
	return b.String()
}

func (g *depGraph) dot() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", quote(g.env))
	b.WriteString("    rankdir=LR;\n    node [shape=box];\n")
	for _, n := range g.nodes {
		if n.upstream != nil {
			fmt.Fprintf(&b, "    %s [label=%s, style=rounded];\n", quote(n.name), quote(n.label()))
		} else {
			fmt.Fprintf(&b, "    %s;\n", quote(n.name))
		}
	}
	for _, n := range g.nodes {
		for _, d := range n.deps {
			fmt.Fprintf(&b, "    %s -> %s;\n", quote(d), quote(n.name))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// quote makes a label safe in both Mermaid and DOT, whose escaping rules
// differ: names are DNS labels, so only a tag could hold a quote or newline.
func quote(s string) string {
	s = strings.NewReplacer(`"`, "'", "\n", " ", "\\", "/").Replace(s)
	return `"` + s + `"`
}
