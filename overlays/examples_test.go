package overlays_test

// These tests read the dependency graph of the real example environments
// (environments/*), as gen graph would, and check what the Flux tree
// promises an operator: every dependsOn edge has a reason, every reason has
// an edge, and one broken component never holds back alerting, scraping or
// log collection.

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/overlays"
)

var examples = []string{"dev", "staging", "prod", "cloud"}

type exampleGraph struct {
	units map[string]*overlays.TestUnit
	refs  []overlays.TestRef
}

var (
	graphsOnce sync.Once
	graphs     map[string]*exampleGraph
	graphsErr  error
)

// exampleGraphs loads and builds every example once per test binary.
func exampleGraphs(t *testing.T) map[string]*exampleGraph {
	t.Helper()
	graphsOnce.Do(func() {
		graphs = map[string]*exampleGraph{}
		for _, name := range examples {
			e, err := generate.Load(context.Background(), filepath.Join("..", "environments", name))
			if err != nil {
				graphsErr = err
				return
			}
			s, err := generate.Build(e.Spec)
			if err != nil {
				graphsErr = err
				return
			}
			units, refs, err := overlays.GraphForTest(overlays.Environment{Name: e.Spec.Name, Objects: s, Prerequisites: generate.Prerequisites(e.Spec)})
			if err != nil {
				graphsErr = err
				return
			}
			g := &exampleGraph{units: map[string]*overlays.TestUnit{}, refs: refs}
			for _, u := range units {
				g.units[u.Name] = u
			}
			graphs[name] = g
		}
	})
	if graphsErr != nil {
		t.Fatal(graphsErr)
	}
	return graphs
}

// reach is everything a unit waits for, directly or not, optionally with
// one edge left out.
func (g *exampleGraph) reach(from string, skip [2]string) map[string]bool {
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		for _, d := range g.units[n].Deps {
			if [2]string{n, d} == skip || seen[d] {
				continue
			}
			seen[d] = true
			visit(d)
		}
	}
	visit(from)
	return seen
}

// clone copies a graph so that a test can plant a mistake in it.
func (g *exampleGraph) clone() *exampleGraph {
	c := &exampleGraph{units: map[string]*overlays.TestUnit{}, refs: g.refs}
	for n, u := range g.units {
		cu := *u
		cu.Deps = append([]string(nil), u.Deps...)
		c.units[n] = &cu
	}
	return c
}

// edgeProblems lists edges without a reason or implied by others.
func edgeProblems(g *exampleGraph) (problems []string, edges int) {
	for _, u := range g.units {
		for _, d := range u.Deps {
			edges++
			if len(u.Why[d]) == 0 {
				problems = append(problems, u.Name+" depends on "+d+" for no reason")
			}
			if g.reach(u.Name, [2]string{u.Name, d})[d] {
				problems = append(problems, u.Name+" -> "+d+" is implied by other edges")
			}
		}
	}
	return problems, edges
}

// Every edge is justified by a reference, and needed: without it, some
// object of the unit would be applied before what it references (the
// edges are reduced, so no other path covers it).
func TestEveryEdgeJustifiedAndNeeded(t *testing.T) {
	for env, g := range exampleGraphs(t) {
		problems, edges := edgeProblems(g)
		for _, p := range problems {
			t.Errorf("%s: %s", env, p)
		}
		if edges < 20 {
			t.Errorf("%s: only %d edges", env, edges)
		}
	}
	// The check catches an edge planted without a reason.
	g := exampleGraphs(t)["prod"].clone()
	u := g.units["prod-fluent-bit-content"]
	u.Deps = append(u.Deps, "prod-elasticsearch-instances")
	if p, _ := edgeProblems(g); !strings.Contains(strings.Join(p, "\n"), "prod-fluent-bit-content depends on prod-elasticsearch-instances for no reason") {
		t.Errorf("planted edge: %q", p)
	}
}

// uncovered lists references from one unit to another that no path of
// dependsOn edges covers.
func uncovered(g *exampleGraph) (problems []string, cross int) {
	for _, r := range g.refs {
		if r.To == "" || r.To == r.From {
			continue
		}
		cross++
		if !g.reach(r.From, [2]string{})[r.To] {
			problems = append(problems, r.From+" is applied without waiting for "+r.To+": "+r.Text)
		}
	}
	return problems, cross
}

// Every reference from one unit to another is covered by a path of
// dependsOn edges.
func TestEveryReferenceCovered(t *testing.T) {
	for env, g := range exampleGraphs(t) {
		problems, cross := uncovered(g)
		for _, p := range problems {
			t.Errorf("%s: %s", env, p)
		}
		if cross < 20 {
			t.Errorf("%s: only %d cross-unit references", env, cross)
		}
	}
	// The check catches a missing edge: Grafana without its dashboards.
	g := exampleGraphs(t)["prod"].clone()
	u := g.units["prod-grafana-instances"]
	var kept []string
	for _, d := range u.Deps {
		if d != "prod-dashboards-content" {
			kept = append(kept, d)
		}
	}
	if len(kept) == len(u.Deps) {
		t.Fatal("Grafana does not wait for its dashboards")
	}
	u.Deps = kept
	if p, _ := uncovered(g); !strings.Contains(strings.Join(p, "\n"), "prod-grafana-instances is applied without waiting for prod-dashboards-content") {
		t.Errorf("missing edge: %q", p)
	}
}

// essential are the objects that must keep reconciling whatever else
// breaks: alert rules, scrape configuration and the log agent.
var essential = regexp.MustCompile(`^monitoring\.coreos\.com/(PrometheusRule|ServiceMonitor|PodMonitor|ScrapeConfig) |^apps/DaemonSet logging/fluent-bit$`)

// blockedBy lists the units that wait for bad, directly or not, with it.
func blockedBy(g *exampleGraph, bad string) []string {
	var out []string
	for _, u := range g.units {
		if u.Name == bad || g.reach(u.Name, [2]string{})[bad] {
			out = append(out, u.Name)
		}
	}
	sort.Strings(out)
	return out
}

// essentialBlocked lists the essential objects that breaking bad holds back.
func essentialBlocked(g *exampleGraph, bad string) []string {
	var out []string
	for _, b := range blockedBy(g, bad) {
		for _, o := range g.units[b].Objects {
			if essential.MatchString(o) {
				out = append(out, b+": "+o)
			}
		}
	}
	return out
}

// TestBreakOneComponent breaks one component at a time (the unit holding
// the named object never becomes Ready) and shows from the graph alone
// which units still reconcile: those that do not wait for it, directly or
// not. The units holding rules, monitors, scrape configs and Fluent Bit
// always do.
func TestBreakOneComponent(t *testing.T) {
	broken := map[string]string{
		"Elasticsearch":  "elasticsearch.k8s.elastic.co/Elasticsearch logging/logging",
		"Tempo":          "apps/StatefulSet tracing/tempo",
		"History Server": "apps/Deployment spark-operator/spark-history-server",
		"Pure exporter":  "apps/Deployment monitoring/pure-fb-om-exporter",
		"Grafana":        "apps/Deployment monitoring/grafana",
	}
	names := make([]string, 0, len(broken))
	for n := range broken {
		names = append(names, n)
	}
	sort.Strings(names)
	g := exampleGraphs(t)["prod"]
	holder := func(obj string) string {
		for _, u := range g.units {
			for _, o := range u.Objects {
				if o == obj {
					return u.Name
				}
			}
		}
		t.Fatalf("no unit holds %s", obj)
		return ""
	}
	for _, what := range names {
		t.Run(what, func(t *testing.T) {
			bad := holder(broken[what])
			blocked := blockedBy(g, bad)
			t.Logf("%s broken (%s): blocked %v; the %d other units reconcile", what, bad, blocked, len(g.units)-len(blocked))
			for _, p := range essentialBlocked(g, bad) {
				t.Errorf("%s broken holds back %s", what, p)
			}
		})
	}
	// The check catches the log agent waiting for Elasticsearch.
	planted := g.clone()
	u := planted.units["prod-fluent-bit-content"]
	u.Deps = append(u.Deps, "prod-elasticsearch-instances")
	if p := essentialBlocked(planted, holder(broken["Elasticsearch"])); len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "apps/DaemonSet logging/fluent-bit") {
		t.Errorf("planted edge not caught: %q", p)
	}
}

// The README's first command writes the tree where the examples' Flux
// Kustomizations look for it: every spec.path of a Vigil unit in clusters/
// (the golden tree of the four examples, testdata/render) is a directory of
// that tree, relative to the directory the README tells users to commit.
func TestFluxPathsExistInWrittenTree(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go run ./cmd/gen render \S+ -o (\S+)`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no 'go run ./cmd/gen render DIR -o OUT' command")
	}
	out := string(m[1])
	root := filepath.Join("..", "testdata", "render")
	clusters, err := filepath.Glob(filepath.Join(root, "clusters", "*", "kustomization-*.yaml"))
	if err != nil || len(clusters) == 0 {
		t.Fatalf("no Flux Kustomizations under %s: %v", root, err)
	}
	checked := 0
	for _, f := range clusters {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ks struct {
			Spec struct {
				Path      string
				SourceRef struct{ Name string } `json:"sourceRef"`
			}
		}
		if err := yaml.Unmarshal(b, &ks); err != nil {
			t.Fatal(err)
		}
		if ks.Spec.SourceRef.Name != "flux-system" {
			continue // an upstream's path is in its own repository
		}
		checked++
		rel, ok := strings.CutPrefix(path.Clean(ks.Spec.Path), out+"/")
		if !ok {
			t.Errorf("%s: spec.path %s is not under ./%s, where the README writes the tree", f, ks.Spec.Path, out)
			continue
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel), "kustomization.yaml")); err != nil {
			t.Errorf("%s: spec.path %s does not exist in the written tree: %v", f, ks.Spec.Path, err)
		}
	}
	if checked < 40 {
		t.Errorf("only %d Kustomizations checked", checked)
	}
}
