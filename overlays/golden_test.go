package overlays

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/stack"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/overlays")

const goldenDir = "../testdata/overlays"

// goldenEnvs are the environments of the golden tree: prod (replicas,
// storage, Slack channel, an extra ConfigMap, a Service left out) and dev
// (no Alertmanager, debug logging, a slower scrape).
func goldenEnvs() []Environment {
	dev := stackWith(func(o map[string]stack.Object) map[string]stack.Object {
		delete(o, "configmap/alertmanager-routes")
		c := &o["deployment/prometheus-operator"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
		c.Args[0] = "--log-level=debug"
		o["servicemonitor/prometheus"].(*monitoringv1.ServiceMonitor).Spec.Endpoints[0].Interval = "1m"
		return o
	})
	return []Environment{
		{Name: "prod", Objects: prodStack(), Flux: Flux{Path: "./deploy"}},
		{Name: "dev", Objects: dev, Flux: Flux{Path: "./deploy", Interval: metav1.Duration{Duration: 60e9}}},
	}
}

// TestGolden compares the small fixture's tree and graphs with the files
// under testdata/overlays; go test ./overlays -update rewrites them.
func TestGolden(t *testing.T) {
	tree, err := Compile(context.Background(), smallStack(), goldenEnvs())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, p := range tree.Paths() {
		b, _ := tree.File(p)
		want[filepath.Join("tree", filepath.FromSlash(p))] = b
	}
	for _, format := range []string{"mermaid", "dot"} {
		g, err := Graph(goldenEnvs()[0], format)
		if err != nil {
			t.Fatal(err)
		}
		want[filepath.Join("graph", "prod."+format)] = []byte(g)
	}

	if *update {
		if err := os.RemoveAll(goldenDir); err != nil {
			t.Fatal(err)
		}
		for p, b := range want {
			full := filepath.Join(goldenDir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}

	got := map[string][]byte{}
	err = filepath.WalkDir(goldenDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(goldenDir, p)
		got[rel] = b
		return err
	})
	if err != nil {
		t.Fatalf("reading golden files (run go test ./overlays -update to create them): %v", err)
	}
	var problems []string
	for p, b := range want {
		g, ok := got[p]
		switch {
		case !ok:
			problems = append(problems, "missing golden file "+p)
		case string(g) != string(b):
			problems = append(problems, unified(filepath.ToSlash(p), g, b, true, true))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			problems = append(problems, "golden file "+p+" is no longer produced")
		}
	}
	if len(problems) > 0 {
		t.Fatalf("output differs from %s (go test ./overlays -update rewrites it after review):\n%s", goldenDir, strings.Join(problems, "\n"))
	}
}
