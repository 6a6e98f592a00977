package overlays

import (
	"bytes"
	"context"
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-stack/vigil/generate/stack"
)

// A Compiler rebuilt from its bases' files is the Compiler that rendered
// them: the same objects (numbers with the same text), file names, YAML
// and checks, and so the same environment trees.
func TestCompilerFromBases(t *testing.T) {
	bases := map[string]*stack.Set{"small": smallStack()}
	seeds := int64(20)
	if testing.Short() {
		seeds = 5
	}
	for seed := int64(1); seed <= seeds; seed++ {
		bases["property-"+string(rune('a'+seed))] = propertyBase(rand.New(rand.NewSource(seed)))
	}
	for name, base := range bases {
		t.Run(name, func(t *testing.T) {
			want, err := NewCompiler(base)
			if err != nil {
				t.Fatal(err)
			}
			got, err := CompilerFromBases(want.Bases().Files())
			if err != nil {
				t.Fatal(err)
			}
			opts := cmp.AllowUnexported(baseGroup{}, object{}, rendered{}, buildCheck{}, Tree{})
			if d := cmp.Diff(want.index, got.index, opts); d != "" {
				t.Errorf("base index (-generated +rebuilt):\n%s", d)
			}
			if d := cmp.Diff(want.base, got.base, opts); d != "" {
				t.Errorf("bases and their checks (-generated +rebuilt):\n%s", d)
			}
			if err := got.VerifyBases(context.Background()); err != nil {
				t.Errorf("rebuilt bases do not verify: %v", err)
			}
			env := []Environment{{Name: "prod", Objects: perturb(rand.New(rand.NewSource(int64(len(name)))), base)}}
			if name == "small" {
				env[0].Objects = prodStack()
			}
			a, err := want.Batch(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			b, err := got.Batch(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(a["prod"].files, b["prod"].files); d != "" {
				t.Errorf("environment tree (-generated compiler +rebuilt):\n%s", d)
			}
		})
	}
}

// Files one Compiler did not render are refused, not trusted.
func TestCompilerFromBasesRefuses(t *testing.T) {
	c, err := NewCompiler(smallStack())
	if err != nil {
		t.Fatal(err)
	}
	const dir = "base/prometheus/instances/"
	cases := map[string]func(files map[string][]byte){
		"two objects' files swapped": func(f map[string][]byte) {
			a, b := dir+"configmap-prometheus-config.yaml", dir+"service-prometheus.yaml"
			f[a], f[b] = f[b], f[a]
		},
		"a kustomization edited": func(f map[string][]byte) {
			f[dir+"kustomization.yaml"] = append(bytes.Clone(f[dir+"kustomization.yaml"]), "namespace: other\n"...)
		},
		"a file missing": func(f map[string][]byte) { delete(f, dir+"service-prometheus.yaml") },
		"a stray file": func(f map[string][]byte) {
			f[dir+"stray.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n")
		},
		"a file outside base/": func(f map[string][]byte) { f["envs/prod/x.yaml"] = []byte("a: b\n") },
		"an unknown layer":     func(f map[string][]byte) { f["base/x/nolayer/x.yaml"] = []byte("a: b\n") },
		"not YAML":             func(f map[string][]byte) { f[dir+"service-prometheus.yaml"] = []byte("a: [\n") },
		"an alias": func(f map[string][]byte) {
			f[dir+"service-prometheus.yaml"] = append(bytes.Clone(f[dir+"service-prometheus.yaml"]), "x: &a b\ny: *a\n"...)
		},
		"a number JSON cannot hold": func(f map[string][]byte) {
			p := dir + "statefulset-prometheus.yaml"
			f[p] = bytes.Replace(f[p], []byte("replicas: 1\n"), []byte("replicas: 0x1\n"), 1)
		},
		"a YAML 1.1 boolean": func(f map[string][]byte) {
			p := dir + "statefulset-prometheus.yaml"
			f[p] = append(bytes.Clone(f[p]), "x: True\n"...)
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			files := c.Bases().Files()
			before := len(files)
			edit(files)
			if len(files) == before && equalTrees(files, c.Bases().Files()) {
				t.Fatal("the edit changed nothing: fix the test")
			}
			if _, err := CompilerFromBases(files); err == nil {
				t.Fatal("rebuilt a Compiler from files it did not render")
			} else if !strings.HasPrefix(err.Error(), "bases: ") {
				t.Errorf("error %q does not say it is about the bases", err)
			}
		})
	}
}

func equalTrees(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for p, x := range a {
		if !bytes.Equal(x, b[p]) {
			return false
		}
	}
	return true
}
