package generate_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/overlays"
)

// TestExampleTreeBuildsWithFluxAndKubectl writes the rendered tree of every
// example and builds each environment layer the way its consumers do:
// kustomize-controller's generator and SecureBuild from
// github.com/fluxcd/pkg/kustomize, and `kubectl kustomize`. Both must
// succeed and yield the same objects (Render has already proven, in process,
// that they are exactly the generated ones).
func TestExampleTreeBuildsWithFluxAndKubectl(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kubectl once per layer")
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("kubectl is needed (.ci/run checks for it)")
	}
	tree := render(t, vigil.ExampleNames...)
	root := t.TempDir()
	if _, err := overlays.Write(context.Background(), tree, root); err != nil {
		t.Fatal(err)
	}
	// Every directory a Flux Kustomization of the tree applies (the
	// examples' flux.path is ./deploy).
	kss, err := filepath.Glob(filepath.Join(root, "clusters", "*", "kustomization-*.yaml"))
	if err != nil || len(kss) < len(vigil.ExampleNames)*5 {
		t.Fatalf("found %d Flux Kustomizations: %v", len(kss), err)
	}
	for _, f := range kss {
		fluxObj := fluxKustomization(t, f)
		if name, _, _ := unstructured.NestedString(fluxObj.Object, "spec", "sourceRef", "name"); name != "flux-system" {
			continue // upstream manifests
		}
		p, _, _ := unstructured.NestedString(fluxObj.Object, "spec", "path")
		rel, ok := strings.CutPrefix(path.Clean(p), "deploy/")
		if !ok {
			t.Fatalf("%s: spec.path %s is not under ./deploy", f, p)
		}
		dir := filepath.Join(root, filepath.FromSlash(rel))
		gen := fluxkustomize.NewGenerator(root, fluxObj)
		action, err := gen.WriteFile(dir)
		if err != nil {
			t.Fatalf("%s: flux generator: %v", rel, err)
		}
		res, err := fluxkustomize.SecureBuild(root, dir, false)
		if cerr := fluxkustomize.CleanDirectory(dir, action); cerr != nil {
			t.Fatal(cerr)
		}
		if err != nil {
			t.Fatalf("%s: flux build: %v", rel, err)
		}
		var fluxIDs []string
		for _, r := range res.Resources() {
			fluxIDs = append(fluxIDs, fmt.Sprintf("%s %s/%s", r.GetKind(), r.GetNamespace(), r.GetName()))
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(kubectl, "kustomize", dir)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Env = append(os.Environ(), "KUBECONFIG=/dev/null")
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", rel, err, stderr.String())
		}
		var kubectlIDs []string
		for _, doc := range strings.Split(stdout.String(), "\n---\n") {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			if len(u.Object) > 0 {
				kubectlIDs = append(kubectlIDs, fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName()))
			}
		}
		sort.Strings(fluxIDs)
		sort.Strings(kubectlIDs)
		if len(fluxIDs) == 0 {
			t.Errorf("%s: builds to nothing", rel)
		}
		if d := cmp.Diff(fluxIDs, kubectlIDs); d != "" {
			t.Errorf("%s: Flux and kubectl build different objects (-flux +kubectl):\n%s", rel, d)
		}
	}
}

// fluxKustomization reads a Flux Kustomization of clusters/<env>/.
func fluxKustomization(t *testing.T, file string) unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}
