package platform_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"example.com/acme/platform"
	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/overlays"
)

// examples is Vigil's example environments plus this platform's settings
// for dev.
func examples(t *testing.T, extra string) fs.FS {
	t.Helper()
	fsys := fstest.MapFS{"environments/dev/acme.cue": {Data: []byte("package dev\n" + extra)}}
	err := fs.WalkDir(vigil.Examples, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, rerr := fs.ReadFile(vigil.Examples, p)
			fsys[p] = &fstest.MapFile{Data: b}
			return rerr
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestRenderWithPlatform renders dev with the platform's component and
// transform. Render verified every kustomization of the tree against the
// generated objects, the component's units and the transformed workloads
// among them; the test builds them again from disk with kustomize to show
// what a cluster gets: the environment's settings in the component, the
// toleration on Vigil's workloads, and a tree that gen diff finds current.
func TestRenderWithPlatform(t *testing.T) {
	fsys := examples(t, `extensions: acme: {interval: "15s", targets: ["db-1.example.com"]}`)
	ctx := context.Background()
	r, err := platform.Render(ctx, []generate.Source{{Dir: "environments/dev", FS: fsys}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"base/acme-exporter/content/servicemonitor-acme-exporter.yaml",
		"clusters/dev/kustomization-dev-acme-exporter-content.yaml",
		"envs/dev/acme-exporter/content/kustomization.yaml",
	} {
		if _, ok := r.Tree.File(p); !ok {
			t.Errorf("%s is not in the tree", p)
		}
	}
	flux, _ := r.Tree.File("clusters/dev/kustomization-dev-acme-exporter-content.yaml")
	for _, dep := range []string{"dev-namespaces", "dev-prometheus-operator-crds"} {
		if !strings.Contains(string(flux), "name: "+dep) {
			t.Errorf("the component's unit does not depend on %s:\n%s", dep, flux)
		}
	}

	dir := t.TempDir()
	if _, err := overlays.Write(ctx, r.Tree, dir); err != nil {
		t.Fatal(err)
	}
	built := func(unit string) string {
		t.Helper()
		m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(dir, unit))
		if err != nil {
			t.Fatalf("kustomize build %s: %v", unit, err)
		}
		y, err := m.AsYaml()
		if err != nil {
			t.Fatal(err)
		}
		return string(y)
	}
	exp := built("envs/dev/acme-exporter/content")
	for _, want := range []string{"interval: 15s", "db-1.example.com", "vigil.dev/environment: dev", "kind: ServiceMonitor"} {
		if !strings.Contains(exp, want) {
			t.Errorf("the built component lacks %q:\n%s", want, exp)
		}
	}
	if g := built("envs/dev/grafana/instances"); !strings.Contains(g, "key: acme.example/dedicated") {
		t.Errorf("the built Grafana Deployment lacks the toleration:\n%s", g)
	}
	report, err := overlays.Diff(r.Tree, dir)
	if err != nil {
		t.Fatal(err)
	}
	if report.HasChanges() {
		t.Errorf("the written tree differs from the rendered one")
	}
}

// A field the platform does not know is an error naming it.
func TestUnknownSetting(t *testing.T) {
	fsys := examples(t, `extensions: acme: {intervall: "15s"}`)
	_, err := platform.Render(context.Background(), []generate.Source{{Dir: "environments/dev", FS: fsys}})
	if err == nil || !strings.Contains(err.Error(), `unknown field "intervall"`) {
		t.Fatalf("got %v", err)
	}
}
