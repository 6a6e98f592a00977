package overlays

// These tests build the written tree with the tools that consume it: Flux's
// kustomize package (what kustomize-controller runs) and kubectl. They
// import github.com/fluxcd/pkg/kustomize only here, so the library does not
// depend on it.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/stack"
)

// writtenTree renders and writes a tree, returning where it is and what
// each of its kustomizations must build into.
func writtenTree(t *testing.T, base *stack.Set, envs []Environment) (string, *rendered) {
	t.Helper()
	warmSchema()
	r, err := render(base, envs)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "deploy")
	if _, err := Write(context.Background(), r.tree, root); err != nil {
		t.Fatal(err)
	}
	return root, r
}

// fluxKustomization is the Flux object that applies dir, as unstructured,
// the way kustomize-controller hands it to the generator. Directories no
// Flux object points at (bases, clusters/) get an empty spec.
func fluxKustomization(t *testing.T, r *rendered, dir string) unstructured.Unstructured {
	t.Helper()
	u := unstructured.Unstructured{Object: map[string]any{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "spec": map[string]any{}}}
	parts := strings.Split(dir, "/")
	if len(parts) < 3 || parts[0] != "envs" {
		return u
	}
	for _, p := range r.tree.Paths() {
		if !strings.HasPrefix(p, path.Join("clusters", parts[1])+"/kustomization-") {
			continue
		}
		b, _ := r.tree.File(p)
		var ks unstructured.Unstructured
		if err := yaml.Unmarshal(b, &ks.Object); err != nil {
			t.Fatal(err)
		}
		if pth, _, _ := unstructured.NestedString(ks.Object, "spec", "path"); strings.HasSuffix(pth, "/"+dir) {
			return ks
		}
	}
	t.Fatalf("no Flux Kustomization for %s", dir)
	return u
}

// TestFluxBuildsTree builds every kustomization of the realistic tree the
// way kustomize-controller does: its generator rewrites kustomization.yaml
// from the Flux object, then SecureBuild. The result must be what the
// generators produced, as in Compile's own verification.
func TestFluxBuildsTree(t *testing.T) {
	var envs []Environment
	for _, e := range realisticEnvs() {
		e.Flux.Path = "./deploy"
		envs = append(envs, e)
	}
	root, r := writtenTree(t, realisticStack("base"), envs)
	for _, c := range r.checks {
		dir := filepath.Join(root, filepath.FromSlash(c.dir))
		gen := fluxkustomize.NewGenerator(root, fluxKustomization(t, r, c.dir))
		action, err := gen.WriteFile(dir)
		if err != nil {
			t.Fatalf("%s: flux generator: %v", c.dir, err)
		}
		res, err := fluxkustomize.SecureBuild(root, dir, false)
		if cerr := fluxkustomize.CleanDirectory(dir, action); cerr != nil {
			t.Fatalf("%s: %v", c.dir, cerr)
		}
		if err != nil {
			t.Fatalf("%s: flux build: %v", c.dir, err)
		}
		var got []*object
		for _, x := range res.Resources() {
			m, err := decodeResource(x)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, &object{key: keyOf(m), m: m})
		}
		if p := compare(c.dir, c.want, got); p != nil {
			t.Errorf("flux build differs:\n%s", strings.Join(p, "\n"))
		}
	}
	// Flux reset kyaml's schema; Compile must still be right afterwards.
	if _, err := Compile(context.Background(), realisticStack("base"), envs); err != nil {
		t.Fatal(err)
	}
}

// TestKubectlKustomize runs kubectl kustomize (its own, older, kustomize) on
// every directory of the golden tree.
func TestKubectlKustomize(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	if testing.Short() {
		t.Skip("runs kubectl once per directory")
	}
	root, r := writtenTree(t, smallStack(), goldenEnvs())
	for _, c := range r.checks {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(kubectl, "kustomize", filepath.Join(root, filepath.FromSlash(c.dir)))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Env = append(os.Environ(), "KUBECONFIG=/dev/null")
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", c.dir, err, stderr.String())
		}
		var got []*object
		for _, doc := range strings.Split(stdout.String(), "\n---\n") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			j, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			m, err := decodeJSONMap(j)
			if err != nil {
				t.Fatal(err)
			}
			normalize(m)
			got = append(got, &object{key: keyOf(m), m: m})
		}
		if p := compare(c.dir, c.want, got); p != nil {
			t.Errorf("kubectl kustomize differs:\n%s", strings.Join(p, "\n"))
		}
	}
}
