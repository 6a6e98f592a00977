package generate_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sort"
	"strings"
	"testing"
	"time"

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

// BenchmarkRender/fleet-N/{uncached,cached,one-changed} renders N
// environments from disk (copies of the examples under distinct environment
// and cluster names, in a module laid out like Vigil's repository) as gen
// render does: RenderFleet streaming each environment into an
// overlays.Writer, then Commit. uncached renders everything into a new
// directory; cached finds every environment in a warm cache and the same
// tree on disk; one-changed edits one environment's value before each
// render into the directory the previous one wrote. peak-heap-MB is the
// largest heap in use sampled during the timed loop, to show memory against
// N. The large sizes take minutes uncached: run them with -benchtime=1x
// (make bench).
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1, 10, 50, 200, 1000} {
		b.Run(fmt.Sprintf("fleet-%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeModule(b, dir)
			var sources []generate.Source
			for i := range n {
				example := vigil.ExampleNames[i%len(vigil.ExampleNames)]
				sources = append(sources, addEnvironment(b, dir, example, fmt.Sprintf("%s-%04d", example, i)))
			}
			c := openCache(b)
			outs := b.TempDir()
			for _, mode := range []string{"uncached", "cached", "one-changed"} {
				b.Run(mode, func(b *testing.B) {
					opts := generate.FleetOptions{}
					out := filepath.Join(outs, mode)
					if mode != "uncached" {
						opts.Cache = c
						renderOut(b, sources, opts, out) // warm
					}
					edit := 0
					peak := heapSampler()
					b.ReportAllocs()
					for b.Loop() {
						b.StopTimer()
						switch mode {
						case "uncached":
							if err := os.RemoveAll(out); err != nil {
								b.Fatal(err)
							}
						case "one-changed":
							edit++
							f := filepath.Join(sources[0].Dir, "env.cue")
							src, _ := os.ReadFile(f)
							src = fmt.Appendf(src, "\nmonitoring: prometheus: externalLabels: edit%d: \"x\"\n", edit)
							if err := os.WriteFile(f, src, 0o644); err != nil {
								b.Fatal(err)
							}
						}
						b.StartTimer()
						if f := renderOut(b, sources, opts, out); len(f.Envs) != n {
							b.Fatalf("%d environments", len(f.Envs))
						}
					}
					b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
				})
			}
		})
	}
}

// renderOut is gen render without its report: stream into out, commit.
func renderOut(b *testing.B, sources []generate.Source, opts generate.FleetOptions, out string) *generate.Fleet {
	f, _, err := streamInto(b, sources, opts, out, overlays.QuietAdditions())
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// heapSampler samples the heap in use every 5 ms until the returned
// function is called, which returns the largest sample.
func heapSampler() func() uint64 {
	stop := make(chan struct{})
	done := make(chan uint64)
	go func() {
		var peak uint64
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-done }
}
