package overlays

import (
	"context"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"

	"github.com/vigil-stack/vigil/generate/stack"
)

func depsOf(t *testing.T, s *stack.Set) map[string][]string {
	t.Helper()
	objs, err := collect(s, "test")
	if err != nil {
		t.Fatal(err)
	}
	ups, err := upstreams(Environment{Name: "e", Objects: s})
	if err != nil {
		t.Fatal(err)
	}
	g, err := buildGraph("e", objs, ups)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range g.nodes {
		out[n.name] = n.deps
	}
	return out
}

func pvc(ns, name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
}

func TestDependencies(t *testing.T) {
	crds := stack.Upstream{Name: "crds", Layer: stack.CRDs, URL: "https://example.org/crds", Tag: "v1", Path: "."}
	tests := []struct {
		name  string
		build func(s *stack.Set)
		want  map[string][]string
	}{
		{
			// content waits for instances, which is empty: the edge
			// goes on to what instances waited for, down to the
			// namespaces and the upstream CRDs.
			name: "edges through empty layers",
			build: func(s *stack.Set) {
				s.Add("ns", stack.Namespaces, namespace("monitoring"))
				s.Add("mon", stack.Content, serviceMonitor("monitoring", "x", "web"))
				s.AddUpstream(crds)
			},
			want: map[string][]string{"e-namespaces": nil, "e-crds": nil, "e-content": {"e-crds", "e-namespaces"}},
		},
		{
			name: "full chain is reduced to direct edges",
			build: func(s *stack.Set) {
				s.Add("ns", stack.Namespaces, namespace("a"))
				s.Add("c", stack.CRDs, crd("example.org", "Widget"))
				s.Add("st", stack.Storage, storageClass("fast", "csi"))
				s.Add("n", stack.Node, daemonSet("a", "sysctl"))
				s.Add("op", stack.Operators, deployment("a", "op", 1))
				s.Add("app", stack.Instances, statefulSet("a", "db", 1, "1Gi"))
				s.Add("mon", stack.Content, serviceMonitor("a", "db", "web"))
				u := crds
				u.Name = "crds-2"
				s.AddUpstream(u)
			},
			want: map[string][]string{
				"e-namespaces": nil,
				"e-crds":       nil,
				"e-crds-2":     nil,
				"e-storage":    {"e-namespaces"},
				"e-node":       {"e-namespaces"},
				"e-operators":  {"e-crds", "e-crds-2", "e-namespaces"},
				"e-instances":  {"e-node", "e-operators", "e-storage"},
				"e-content":    {"e-instances"},
			},
		},
		{
			// A claim in the operators layer pulls storage in front of
			// it; a custom resource in the node layer pulls crds.
			name: "edges from contents",
			build: func(s *stack.Set) {
				s.Add("ns", stack.Namespaces, namespace("a"))
				s.Add("st", stack.Storage, storageClass("fast", "csi"))
				s.Add("op", stack.Operators, deployment("a", "op", 1), pvc("a", "op-cache"))
				s.Add("n", stack.Node, serviceMonitor("a", "node", "metrics"))
				s.AddUpstream(crds)
			},
			want: map[string][]string{
				"e-namespaces": nil,
				"e-crds":       nil,
				"e-storage":    {"e-namespaces"},
				"e-node":       {"e-crds", "e-namespaces"},
				"e-operators":  {"e-crds", "e-storage"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &stack.Set{}
			tc.build(s)
			got := depsOf(t, s)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestUpstreamNameClash(t *testing.T) {
	s := &stack.Set{}
	s.Add("c", stack.CRDs, crd("example.org", "Widget"))
	s.AddUpstream(stack.Upstream{Name: "crds", Layer: stack.CRDs, URL: "u", Tag: "v1", Path: "."})
	_, err := Compile(context.Background(), &stack.Set{}, []Environment{{Name: "e", Objects: s}})
	if err == nil || !strings.Contains(err.Error(), `flux Kustomization name "e-crds" is used by both layer crds and upstream crds`) {
		t.Fatalf("got %v", err)
	}
}

// A layer holding standalone PVCs is checked with healthChecks instead of
// wait, leaving the claims out.
func TestHealthChecksInsteadOfWait(t *testing.T) {
	s := smallStack()
	s.Add("grafana", stack.Instances, deployment("monitoring", "grafana", 1), pvc("monitoring", "grafana-data"))
	tree, err := Compile(context.Background(), smallStack(), []Environment{{Name: "prod", Objects: s}})
	if err != nil {
		t.Fatal(err)
	}
	var ks kustomizev1.Kustomization
	if err := yaml.UnmarshalStrict([]byte(mustFile(t, tree, "clusters/prod/kustomization-prod-instances.yaml")), &ks); err != nil {
		t.Fatal(err)
	}
	if ks.Spec.Wait {
		t.Error("wait is on for a layer with standalone claims")
	}
	var checks []string
	for _, c := range ks.Spec.HealthChecks {
		checks = append(checks, c.APIVersion+" "+c.Kind+" "+c.Namespace+"/"+c.Name)
	}
	want := []string{"apps/v1 Deployment monitoring/grafana", "apps/v1 StatefulSet monitoring/prometheus"}
	if !reflect.DeepEqual(checks, want) {
		t.Errorf("healthChecks %v, want %v", checks, want)
	}
	// Other layers wait.
	if !strings.Contains(mustFile(t, tree, "clusters/prod/kustomization-prod-operators.yaml"), "wait: true") {
		t.Error("operators layer does not wait")
	}
}

func TestGraphFormats(t *testing.T) {
	env := Environment{Name: "prod", Objects: realisticStack("prod")}
	m, err := Graph(env, "mermaid")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Graph(env, "dot")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`(["prod-eck-crds (3.5.0)"])`, "flowchart LR\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("mermaid lacks %q:\n%s", want, m)
		}
	}
	if !strings.Contains(d, `"prod-instances" -> "prod-content";`) {
		t.Errorf("dot lacks instances -> content:\n%s", d)
	}
	again, _ := Graph(Environment{Name: "prod", Objects: shuffled(rand.New(rand.NewSource(7)), realisticStack("prod"))}, "mermaid")
	if again != m {
		t.Error("graph depends on input order")
	}
	if _, err := Graph(env, "svg"); err == nil || !strings.Contains(err.Error(), `unknown graph format "svg"`) {
		t.Errorf("got %v", err)
	}
}
