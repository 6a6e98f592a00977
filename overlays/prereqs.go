package overlays

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Prerequisite is an object the environment needs on the cluster and Vigil
// does not create: a Secret created out of band, the CSI driver of a
// StorageClass, an IngressClass. Each gets a gate, a Flux Kustomization that
// applies nothing and whose health check waits for the object, and every
// unit that needs the object depends on its gate. A missing Secret then shows
// as one gate "waiting for Secret monitoring/alertmanager-slack" instead of a
// pod that cannot start, and only the units that need it wait.
type Prerequisite struct {
	// APIVersion and Kind of the object: v1 Secret, storage.k8s.io/v1
	// CSIDriver or networking.k8s.io/v1 IngressClass.
	APIVersion, Kind string
	// Namespace is empty for cluster-scoped kinds. A Secret without a
	// namespace is expected in every namespace where an object names it.
	Namespace string
	Name      string
	// Keys a Secret must hold.
	Keys []string
	// Source says where the environment declares it ("monitoring.grafana.admin.password").
	Source string
	// NeededBy lists components that need it although none of their
	// objects names it (PX-CSI reads px-pure-secret for every volume).
	NeededBy []string
}

func (p Prerequisite) String() string {
	s := p.Kind + " "
	if p.Namespace != "" {
		s += p.Namespace + "/"
	}
	s += p.Name
	switch len(p.Keys) {
	case 0:
	case 1:
		s += " (key " + p.Keys[0] + ")"
	default:
		s += " (keys " + strings.Join(p.Keys, ", ") + ")"
	}
	return s
}

func (p Prerequisite) target() target {
	gv, _ := schema.ParseGroupVersion(p.APIVersion)
	return target{Group: gv.Group, Kind: p.Kind, Namespace: p.Namespace, Name: p.Name}
}

// Gate is a prerequisite as the environment's Flux tree checks it.
type Gate struct {
	Prerequisite
	// Kustomization is the name of the gate's Flux Kustomization.
	Kustomization string
	// Units are the Flux Kustomizations that need the prerequisite.
	Units []string
}

// prerequisiteKinds are the kinds a prerequisite may have, with their
// apiVersion: the ones the schema can declare and the ones references name.
var prerequisiteKinds = map[string]string{
	"Secret":       "v1",
	"CSIDriver":    "storage.k8s.io/v1",
	"IngressClass": "networking.k8s.io/v1",
}

var secretKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// Gates lists an environment's prerequisites with their gates and the units
// that wait for them, sorted by gate name.
func Gates(env Environment) ([]Gate, error) {
	g, err := graphOf(env)
	if err != nil {
		return nil, err
	}
	users := map[string]map[string]bool{}
	for _, n := range g.nodes {
		for d := range n.why {
			if users[d] == nil {
				users[d] = map[string]bool{}
			}
			users[d][n.name] = true
		}
	}
	out := make([]Gate, 0, len(g.gates))
	for _, gt := range g.gates {
		c := *gt
		c.Units = nil
		for u := range users[gt.Kustomization] {
			c.Units = append(c.Units, u)
		}
		sort.Strings(c.Units)
		out = append(out, c)
	}
	return out, nil
}

// resolvePrerequisites turns the declared prerequisites and the references
// nothing in the environment provides into gates, one per object: a Secret
// declared without a namespace gets one per namespace that names it, keys
// are the declared ones plus the ones objects read. A CSIDriver or
// IngressClass that an object names and no unit creates is a prerequisite
// without being declared. A Secret declared without a namespace that no
// object names gets no gate: there is no telling where it should be.
func resolvePrerequisites(env string, declared []Prerequisite, refs []reference, owner map[target]*fluxNode, units map[string]*fluxNode) ([]*Gate, error) {
	byTarget := map[target]*Gate{}
	var order []target
	merge := func(p Prerequisite) {
		t := p.target()
		if owner[t] != nil {
			return // the environment creates it
		}
		gt := byTarget[t]
		if gt == nil {
			gt = &Gate{Prerequisite: p}
			gt.Keys, gt.NeededBy = nil, nil
			byTarget[t] = gt
			order = append(order, t)
		} else if p.Source != "" && !strings.Contains(gt.Source, p.Source) {
			gt.Source += "; " + p.Source
		}
		gt.Keys = union(gt.Keys, p.Keys)
		gt.NeededBy = union(gt.NeededBy, p.NeededBy)
	}
	components := map[string]bool{}
	for _, n := range units {
		components[n.component] = true
	}
	for _, p := range declared {
		api, ok := prerequisiteKinds[p.Kind]
		if !ok {
			return nil, fmt.Errorf("prerequisite %s %s: kind %s cannot be checked (want Secret, CSIDriver or IngressClass)", p.Kind, p.Name, p.Kind)
		}
		if p.APIVersion == "" {
			p.APIVersion = api
		}
		if p.Name == "" {
			return nil, fmt.Errorf("prerequisite %s declared at %s has no name", p.Kind, p.Source)
		}
		for _, k := range p.Keys {
			if !secretKey.MatchString(k) {
				return nil, fmt.Errorf("prerequisite %s declared at %s: key %q is not a valid Secret key", p, p.Source, k)
			}
		}
		var needed []string
		for _, c := range p.NeededBy {
			if components[c] {
				needed = append(needed, c)
			}
		}
		p.NeededBy = needed
		if p.Kind != "Secret" || p.Namespace != "" {
			merge(p)
			continue
		}
		// A Secret in the namespaces of the objects that read it.
		nss := map[string]bool{}
		for _, r := range refs {
			if r.to.Kind == "Secret" && r.to.Group == "" && r.to.Name == p.Name && r.to.Namespace != "" {
				nss[r.to.Namespace] = true
			}
		}
		for _, ns := range sortedSet(nss) {
			q := p
			q.Namespace = ns
			q.NeededBy = nil
			merge(q)
		}
	}
	for _, r := range refs {
		switch r.to.Kind {
		case "CSIDriver", "IngressClass":
			if owner[r.to] == nil {
				merge(Prerequisite{APIVersion: prerequisiteKinds[r.to.Kind], Kind: r.to.Kind, Name: r.to.Name, Source: "named by " + r.from.String() + " " + r.field})
			}
		}
	}
	// Keys the objects read from a gated Secret must be there too.
	for _, r := range refs {
		if gt := byTarget[r.to]; gt != nil && r.key != "" && r.to.Kind == "Secret" {
			gt.Keys = union(gt.Keys, []string{r.key})
		}
	}
	out := make([]*Gate, 0, len(order))
	for _, t := range order {
		gt := byTarget[t]
		gt.Kustomization = gateName(env, gt.Prerequisite)
		out = append(out, gt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kustomization < out[j].Kustomization })
	return out, nil
}

func union(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		set[s] = true
	}
	return sortedSet(set)
}

func sortedSet(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
