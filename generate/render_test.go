package generate_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stacktest"
	"github.com/vigil-stack/vigil/overlays"
)

func exampleSources(names ...string) []generate.Source {
	var out []generate.Source
	for _, n := range names {
		out = append(out, generate.Source{Dir: "environments/" + n, FS: vigil.Examples})
	}
	return out
}

func render(t testing.TB, names ...string) *overlays.Tree {
	t.Helper()
	r, err := generate.Render(context.Background(), exampleSources(names...))
	if err != nil {
		t.Fatal(err)
	}
	return r.Tree
}

// TestRenderGolden compares the tree of all examples with testdata/render,
// file by file; -update rewrites it.
func TestRenderGolden(t *testing.T) {
	tree := render(t, vigil.ExampleNames...)
	dir := filepath.Join(stacktest.RepoRoot(), "testdata", "render")
	if *stacktest.Update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for _, p := range tree.Paths() {
			b, _ := tree.File(p)
			f := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var onDisk []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	sort.Strings(onDisk)
	if d := cmp.Diff(onDisk, tree.Paths()); d != "" {
		t.Fatalf("files differ from testdata/render (-want +got):\n%s", d)
	}
	for _, p := range tree.Paths() {
		got, _ := tree.File(p)
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), string(got)); d != "" {
			t.Errorf("%s differs (-want +got); rerun with -update and read the diff:\n%s", p, d)
		}
	}
}

// TestRenderDeterministic renders the examples twice, in two orders, and
// checks the trees are byte-identical; and that bases do not depend on which
// environments are rendered.
func TestRenderDeterministic(t *testing.T) {
	a := render(t, "dev", "staging", "prod", "cloud")
	b := render(t, "cloud", "prod", "staging", "dev")
	if d := cmp.Diff(a.Paths(), b.Paths()); d != "" {
		t.Fatalf("paths differ with input order:\n%s", d)
	}
	for _, p := range a.Paths() {
		x, _ := a.File(p)
		y, _ := b.File(p)
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs with input order", p)
		}
	}
	prodOnly := render(t, "prod")
	for _, p := range prodOnly.Paths() {
		if !strings.HasPrefix(p, "base/") {
			continue
		}
		x, _ := prodOnly.File(p)
		y, ok := a.File(p)
		if !ok || !bytes.Equal(x, y) {
			t.Errorf("base file %s differs between rendering prod alone and all examples", p)
		}
	}
}

func TestRenderRejectsDuplicateNames(t *testing.T) {
	_, err := generate.Render(context.Background(), exampleSources("prod", "prod"))
	if err == nil || !strings.Contains(err.Error(), `two environments are named "prod"`) {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkRenderProd is `gen render environments/prod` without the write:
// load and check the CUE, generate prod and the base, compile and verify
// every overlay.
func BenchmarkRenderProd(b *testing.B) {
	src := exampleSources("prod")
	for b.Loop() {
		if _, err := generate.Render(context.Background(), src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderAllExamples renders the four examples together.
func BenchmarkRenderAllExamples(b *testing.B) {
	src := exampleSources(vigil.ExampleNames...)
	for b.Loop() {
		if _, err := generate.Render(context.Background(), src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender/fleet-N renders N environments, copies of the examples
// under distinct environment and cluster names (CheckClusters wants one
// environment per cluster), without the write. The sizes show the slope
// per environment; fleet-50 is the fleet-sized case of the budget (10 s).
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("fleet-%d", n), func(b *testing.B) {
			sources := fleetSources(b, n)
			b.ReportAllocs()
			for b.Loop() {
				r, err := generate.Render(context.Background(), sources)
				if err != nil {
					b.Fatal(err)
				}
				if len(r.Environments) != n {
					b.Fatalf("%d environments", len(r.Environments))
				}
			}
		})
	}
}

// fleetSources is n environments over one file system holding the
// examples: copies of them, renamed, each on a cluster of its own.
func fleetSources(b *testing.B, n int) []generate.Source {
	fsys := fstest.MapFS{}
	var sources []generate.Source
	err := fs.WalkDir(vigil.Examples, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := fs.ReadFile(vigil.Examples, p)
			fsys[p] = &fstest.MapFile{Data: data}
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		example := vigil.ExampleNames[i%len(vigil.ExampleNames)]
		src, _ := fs.ReadFile(vigil.Examples, "environments/"+example+"/env.cue")
		name := fmt.Sprintf("%s-%02d", example, i)
		renamed := strings.Replace(string(src), fmt.Sprintf("name: %q", example), fmt.Sprintf("name: %q", name), 1)
		renamed = strings.Replace(renamed, `cluster: {name: "`, `cluster: {name: "`+name+`-`, 1)
		fsys["environments/"+name+"/env.cue"] = &fstest.MapFile{Data: []byte(renamed)}
		sources = append(sources, generate.Source{Dir: "environments/" + name, FS: fsys})
	}
	return sources
}
