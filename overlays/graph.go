package overlays

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/vigil-stack/vigil/generate/stack"
)

// builtinGroups are served by every API server without a CRD but are not in
// client-go's scheme.
var builtinGroups = map[string]bool{"apiextensions.k8s.io": true, "apiregistration.k8s.io": true}

func isCustomResource(k objKey) bool {
	if builtinGroups[k.Group] {
		return false
	}
	return !clientgoscheme.Scheme.IsGroupRegistered(k.Group)
}

// nodeKind tells the three kinds of Flux Kustomization apart.
type nodeKind int

const (
	// unitNode applies one component's objects of one layer.
	unitNode nodeKind = iota
	// upstreamNode applies upstream manifests (CRDs).
	upstreamNode
	// gateNode applies nothing: its health check waits for a prerequisite.
	gateNode
	// secretsNode applies the environment's SOPS-encrypted Secrets and
	// has Flux decrypt them (sops.go).
	secretsNode
)

// fluxNode is one Flux Kustomization of an environment.
type fluxNode struct {
	name      string
	kind      nodeKind
	component string
	layer     stack.Layer
	// upstream is set for upstream nodes, gate for gate nodes.
	upstream *stack.Upstream
	gate     *Gate
	// keySecret is set for the SOPS node: the decryption key's Secret.
	keySecret string
	objects   []*object
	// deps are the names of the Kustomizations this one depends on,
	// sorted, without the ones implied through another dependency.
	deps []string
	// why holds, per dependency (before reduction), the references that
	// call for it.
	why map[string][]reference
}

// depGraph is the Flux dependency graph of one environment, its nodes in a
// fixed order: gates, then units and upstreams by layer and name.
type depGraph struct {
	env   string
	nodes []*fluxNode
	// refs are every reference of every object with the node it resolved
	// to ("" when nothing in the environment provides it: made at run time
	// by an operator or the cluster, or a kind nobody serves).
	refs []resolvedRef
	// gates are the environment's prerequisites, resolved.
	gates []*Gate
	// secrets are the SOPS-encrypted Secrets, one per namespace.
	secrets []*encrypted
}

type resolvedRef struct {
	reference
	from, to string // node names
}

// unitName names a component's Kustomization in one layer: <env>-<component>-<layer>,
// or <env>-<component> when the component is named after its layer
// (namespaces, storage). The layer stays in the name even when a component
// has a single layer, so that a name never changes when a component gains
// one: renaming a Kustomization makes Flux delete what it applied.
func unitName(env, component string, l stack.Layer) string {
	if component == l.String() {
		return fluxName(env + "-" + component)
	}
	return fluxName(env + "-" + component + "-" + l.String())
}

func upstreamName(env string, u stack.Upstream) string { return fluxName(env + "-" + u.Name) }

// fluxName keeps a Kustomization name within a label value's 63
// characters: kustomize-controller labels what it applies with it. A longer
// name keeps its first 54 characters and gains a hash of the whole, so that
// it stays recognisable, deterministic and distinct.
func fluxName(full string) string {
	if len(full) <= 63 {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	return strings.TrimRight(full[:63-9], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}

// gateName is <env>-needs-<kind>-[<namespace>-]<name>, shortened with a
// hash of the full name when longer than a label value.
func gateName(env string, p Prerequisite) string {
	parts := []string{env, "needs", strings.ToLower(p.Kind)}
	if p.Namespace != "" {
		parts = append(parts, p.Namespace)
	}
	parts = append(parts, p.Name)
	full := strings.Join(parts, "-")
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(full))
	if len(clean) <= 63 {
		// Two prerequisites that differ only where a name had a dot
		// would clash, which buildGraph reports.
		return clean
	}
	// The hash is of the name as given, so names that differ only in a
	// character clean replaced stay distinct.
	sum := sha256.Sum256([]byte(full))
	return strings.TrimRight(clean[:63-9], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}

func buildGraph(env string, objs []*object, ups []stack.Upstream, prereqs []Prerequisite, sops sopsInput) (*depGraph, error) {
	g := &depGraph{env: env}
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
		n.why = map[string][]reference{}
		g.nodes = append(g.nodes, n)
		return nil
	}

	// Units and upstreams, in layer order; objs is sorted by layer then
	// component.
	units := map[string]*fluxNode{} // component/layer -> node
	owner := map[target]*fluxNode{}
	for _, l := range stack.AllLayers() {
		for _, o := range objs {
			if o.layer != l {
				continue
			}
			id := o.component + "/" + l.String()
			n := units[id]
			if n == nil {
				n = &fluxNode{name: unitName(env, o.component, l), kind: unitNode, component: o.component, layer: l}
				if err := add(n, "component "+o.component+" layer "+l.String()); err != nil {
					return nil, err
				}
				units[id] = n
			}
			n.objects = append(n.objects, o)
			owner[targetOf(o.key)] = n
		}
		for i := range ups {
			if ups[i].Layer != l {
				continue
			}
			u := ups[i]
			if err := add(&fluxNode{name: upstreamName(env, u), kind: upstreamNode, component: u.Component, layer: l, upstream: &u}, "upstream "+u.Name); err != nil {
				return nil, err
			}
		}
	}

	// What serves each API group: the CRDs, the operator, a webhook.
	crdUnit, operatorUnit, webhookUnit := map[string]*fluxNode{}, map[string]*fluxNode{}, map[string]*fluxNode{}
	for _, n := range g.nodes {
		if n.kind == upstreamNode {
			for _, gr := range n.upstream.Groups {
				crdUnit[gr] = n
				if op := units[n.upstream.Component+"/"+stack.Operators.String()]; op != nil {
					operatorUnit[gr] = op
				}
			}
			continue
		}
		for _, o := range n.objects {
			switch o.key.Group + "/" + o.key.Kind {
			case "apiextensions.k8s.io/CustomResourceDefinition":
				spec, _ := o.m["spec"].(map[string]any)
				if gr, _ := spec["group"].(string); gr != "" {
					crdUnit[gr] = n
				}
			case "admissionregistration.k8s.io/MutatingWebhookConfiguration", "admissionregistration.k8s.io/ValidatingWebhookConfiguration":
				for _, gr := range webhookGroups(o) {
					webhookUnit[gr] = n
				}
			}
		}
	}

	var refs []reference
	for _, o := range objs {
		refs = append(refs, references(o)...)
	}
	if len(sops.enc) > 0 {
		more, err := g.addSecrets(env, sops, refs, owner, add)
		if err != nil {
			return nil, err
		}
		refs = append(refs, more...)
		prereqs = append(append([]Prerequisite(nil), prereqs...), sops.keyPrerequisite())
	}
	gates, err := resolvePrerequisites(env, prereqs, refs, owner, units)
	if err != nil {
		return nil, err
	}
	g.gates = gates
	gateOf := map[target]*fluxNode{}
	for _, gt := range gates {
		n := &fluxNode{name: gt.Kustomization, kind: gateNode, gate: gt}
		if err := add(n, "prerequisite "+gt.String()); err != nil {
			return nil, err
		}
		gateOf[gt.target()] = n
	}
	// Gates first: they hold nothing and depend on nothing.
	sort.SliceStable(g.nodes, func(i, j int) bool {
		return g.nodes[i].kind == gateNode && g.nodes[j].kind != gateNode
	})

	for _, r := range refs {
		from := owner[targetOf(r.from)]
		var to *fluxNode
		switch r.to.Kind {
		case kindCRDs:
			to = crdUnit[r.to.Name]
		case kindOperator:
			to = operatorUnit[r.to.Name]
		case kindWebhook:
			to = webhookUnit[r.to.Name]
		default:
			to = owner[r.to]
			if to == nil {
				to = gateOf[r.to]
			}
		}
		rr := resolvedRef{reference: r, from: from.name}
		if to != nil {
			rr.to = to.name
			if to != from {
				from.why[to.name] = append(from.why[to.name], r)
			}
		}
		g.refs = append(g.refs, rr)
	}
	// Prerequisites needed by whole components (the storage driver's
	// credentials, read by the driver and named by no object).
	for _, gt := range gates {
		for _, c := range gt.NeededBy {
			for _, n := range g.nodes {
				if n.kind == unitNode && n.component == c {
					r := reference{from: objKey{Kind: "Component", Name: c}, field: "(declared: " + gt.Source + ")", to: gt.target()}
					n.why[gt.Kustomization] = append(n.why[gt.Kustomization], r)
					g.refs = append(g.refs, resolvedRef{reference: r, from: n.name, to: gt.Kustomization})
				}
			}
		}
	}
	for _, n := range g.nodes {
		for d := range n.why {
			n.deps = append(n.deps, d)
		}
		sort.Strings(n.deps)
	}
	if cycle := g.findCycle(); cycle != nil {
		return nil, fmt.Errorf("dependency cycle between Flux Kustomizations: %s (%s)", strings.Join(cycle, " -> "), g.cycleReason(cycle))
	}
	g.reduce()
	return g, nil
}

// cycleReason names one reference per edge of a cycle.
func (g *depGraph) cycleReason(cycle []string) string {
	idx := g.byName()
	var parts []string
	for i := 0; i+1 < len(cycle); i++ {
		if rs := idx[cycle[i]].why[cycle[i+1]]; len(rs) > 0 {
			parts = append(parts, rs[0].String())
		}
	}
	return strings.Join(parts, "; ")
}

// webhookGroups are the API groups an admission webhook configuration
// intercepts, wildcards and the core group left out: only custom resources
// are made to wait for a webhook (see references).
func webhookGroups(o *object) []string {
	var out []string
	hooks, _ := o.m["webhooks"].([]any)
	for _, h := range hooks {
		hm, _ := h.(map[string]any)
		rules, _ := hm["rules"].([]any)
		for _, r := range rules {
			rm, _ := r.(map[string]any)
			groups, _ := rm["apiGroups"].([]any)
			for _, gr := range groups {
				if s, _ := gr.(string); s != "" && s != "*" {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func validLayer(l stack.Layer) bool {
	for _, x := range stack.AllLayers() {
		if x == l {
			return true
		}
	}
	return false
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

// reachable is every node n depends on, directly or not.
func (g *depGraph) reachable() func(n string) map[string]bool {
	idx := g.byName()
	reach := map[string]map[string]bool{}
	var f func(n string) map[string]bool
	f = func(n string) map[string]bool {
		if r, ok := reach[n]; ok {
			return r
		}
		r := map[string]bool{}
		for _, d := range idx[n].deps {
			r[d] = true
			for x := range f(d) {
				r[x] = true
			}
		}
		reach[n] = r
		return r
	}
	return f
}

// reduce drops every dependency implied through another one, so each
// Kustomization lists only what it directly waits for. Flux dependencies are
// transitive in effect (a Kustomization whose dependency is not ready is not
// ready itself), so the deploy order is unchanged. The graph is acyclic here.
func (g *depGraph) reduce() {
	reachable := g.reachable()
	kept := map[*fluxNode][]string{}
	for _, n := range g.nodes {
		for _, d := range n.deps {
			implied := false
			for _, other := range n.deps {
				if other != d && reachable(other)[d] {
					implied = true
					break
				}
			}
			if !implied {
				kept[n] = append(kept[n], d)
			}
		}
	}
	for _, n := range g.nodes {
		n.deps = kept[n]
	}
}

// Graph renders the Flux dependency graph of an environment, arrows pointing
// from a Kustomization to the ones that wait for it (apply order). format is
// "mermaid" (a flowchart for Markdown), "dot" (Graphviz) or "explain" (text:
// each Kustomization, what it waits for and the references that make it
// wait). The output is deterministic.
func Graph(env Environment, format string) (string, error) {
	g, err := graphOf(env)
	if err != nil {
		return "", err
	}
	switch format {
	case "mermaid":
		return g.mermaid(), nil
	case "dot":
		return g.dot(), nil
	case "explain":
		return g.explain(), nil
	}
	return "", fmt.Errorf("unknown graph format %q (want mermaid, dot or explain)", format)
}

func graphOf(env Environment) (*depGraph, error) {
	if err := validName("environment name", env.Name); err != nil {
		return nil, err
	}
	if env.Objects == nil {
		return nil, fmt.Errorf("environment %s: no object set", env.Name)
	}
	objs, err := collect(env.Objects, "environment "+env.Name)
	if err != nil {
		return nil, err
	}
	ups, err := upstreams(env)
	if err != nil {
		return nil, err
	}
	enc, err := parseSOPS(env.SOPS)
	if err != nil {
		return nil, err
	}
	return buildGraph(env.Name, objs, ups, env.Prerequisites, sopsInput{enc: enc, keySecret: env.SOPS.KeySecret, fluxNamespace: env.Flux.withDefaults().Namespace})
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
		switch n.kind {
		case upstreamNode:
			// Stadium shape marks manifests Vigil references, not renders.
			fmt.Fprintf(&b, "    %s([%s])\n", id[n.name], quote(n.label()))
		case gateNode:
			// Hexagon: a prerequisite Vigil waits for and never creates.
			fmt.Fprintf(&b, "    %s{{%s}}\n", id[n.name], quote(n.label()))
		case secretsNode:
			// Cylinder: encrypted data, decrypted by Flux.
			fmt.Fprintf(&b, "    %s[(%s)]\n", id[n.name], quote(n.label()))
		default:
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
		switch n.kind {
		case upstreamNode:
			fmt.Fprintf(&b, "    %s [label=%s, style=rounded];\n", quote(n.name), quote(n.label()))
		case gateNode:
			fmt.Fprintf(&b, "    %s [shape=hexagon];\n", quote(n.name))
		default:
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

// explain lists each Kustomization with what it waits for and why: the
// references behind every kept edge.
func (g *depGraph) explain() string {
	var b strings.Builder
	for _, n := range g.nodes {
		b.WriteString(n.label())
		switch n.kind {
		case gateNode:
			fmt.Fprintf(&b, "  (waits for %s)", n.gate)
		case upstreamNode:
			fmt.Fprintf(&b, "  (%s at %s, %s)", n.upstream.URL, n.upstream.Tag, n.upstream.Path)
		}
		b.WriteString("\n")
		for _, d := range n.deps {
			fmt.Fprintf(&b, "  after %s:\n", d)
			for _, r := range n.why[d] {
				fmt.Fprintf(&b, "    %s\n", r)
			}
		}
	}
	return b.String()
}

// quote makes a label safe in both Mermaid and DOT, whose escaping rules
// differ: names are DNS labels, so only a tag could hold a quote or newline.
func quote(s string) string {
	s = strings.NewReplacer(`"`, "'", "\n", " ", "\\", "/").Replace(s)
	return `"` + s + `"`
}
