package generate_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/cache"
	"github.com/vigil-stack/vigil/overlays"
	"github.com/vigil-stack/vigil/schema"
)

// writeModule lays out a CUE module on disk like Vigil's repository: its
// module file, the schema and the example environments, so that tests can
// edit files and render them as a user does.
func writeModule(t testing.TB, dir string) {
	t.Helper()
	put := func(p string, b []byte) {
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("cue.mod/module.cue", fmt.Appendf(nil, "module: %q\nlanguage: version: \"v0.16.0\"\n", schema.ModulePath))
	files, err := schema.Files()
	if err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		put("schema/"+n, b)
	}
	err = fs.WalkDir(vigil.Examples, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(vigil.Examples, p)
		put(p, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addEnvironment writes a copy of an example under a new name and cluster.
func addEnvironment(t testing.TB, dir, example, name string) generate.Source {
	t.Helper()
	src, err := fs.ReadFile(vigil.Examples, "environments/"+example+"/env.cue")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(src), fmt.Sprintf("name: %q", example), fmt.Sprintf("name: %q", name), 1)
	s = strings.Replace(s, `cluster: {name: "`, `cluster: {name: "`+name+`-`, 1)
	d := filepath.Join(dir, "environments", name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "env.cue"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return generate.Source{Dir: d}
}

func diskExamples(dir string) []generate.Source {
	var out []generate.Source
	for _, n := range vigil.ExampleNames {
		out = append(out, generate.Source{Dir: filepath.Join(dir, "environments", n)})
	}
	return out
}

func openCache(t testing.TB) *cache.Cache {
	t.Helper()
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func renderFleet(t testing.TB, srcs []generate.Source, opts generate.FleetOptions) *generate.Fleet {
	t.Helper()
	f, err := generate.RenderFleet(context.Background(), srcs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sameTree(t testing.TB, what string, want, got *overlays.Tree) {
	t.Helper()
	w, g := want.Paths(), got.Paths()
	if strings.Join(w, "\n") != strings.Join(g, "\n") {
		t.Fatalf("%s: %d files, want %d", what, len(g), len(w))
	}
	for _, p := range w {
		a, _ := want.File(p)
		b, _ := got.File(p)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: %s differs", what, p)
		}
	}
}

// TestFleetMatchesRender: every example rendered uncached, into a cold
// cache and from the warm cache is byte-identical to Render's tree, and
// the warm render loads nothing.
func TestFleetMatchesRender(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir)
	srcs := diskExamples(dir)
	r, err := generate.Render(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	c := openCache(t)
	for _, step := range []struct {
		name   string
		cache  *cache.Cache
		cached int
	}{{"uncached", nil, 0}, {"cold", c, 0}, {"warm", c, len(srcs)}} {
		if step.cache == nil && testing.Short() {
			continue // the cold render is the same work, and stores it
		}
		f := renderFleet(t, srcs, generate.FleetOptions{Cache: step.cache})
		sameTree(t, step.name, r.Tree, f.Tree)
		if f.Cached != step.cached {
			t.Errorf("%s: %d environments from the cache, want %d", step.name, f.Cached, step.cached)
		}
		for i, e := range f.Envs {
			if e.Name != r.Environments[i].Spec.Name || e.Cached != (step.cached > 0) {
				t.Errorf("%s: environment %d is %s (cached %v)", step.name, i, e.Name, e.Cached)
			}
		}
	}
}

// TestFleetRandomEdits edits random environments (their values, their
// comments, the fleet package they import) and checks after each edit that
// the cached render equals an uncached one and that exactly the
// environments whose inputs changed were rendered again.
func TestFleetRandomEdits(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir)
	srcs, names := diskExamples(dir), vigil.ExampleNames
	n := 6
	if testing.Short() {
		srcs, names, n = srcs[:2], names[:2], 1
	}
	c := openCache(t)
	renderFleet(t, srcs, generate.FleetOptions{Cache: c})
	rng := rand.New(rand.NewPCG(9, 9))
	edits := []struct {
		name  string
		apply func(env string, s string) string
	}{
		{"cluster", func(env, s string) string {
			return strings.Replace(s, `cluster: {name: "`, fmt.Sprintf(`cluster: {name: "r%d-`, rng.IntN(1000)), 1)
		}},
		{"comment", func(env, s string) string { return s + fmt.Sprintf("\n// edit %d\n", rng.IntN(1000)) }},
		{"tier label", func(env, s string) string {
			return s + fmt.Sprintf("\nmonitoring: prometheus: externalLabels: edit: \"e%d\"\n", rng.IntN(1000))
		}},
	}
	for i := range n {
		env := names[rng.IntN(len(names))]
		e := edits[rng.IntN(len(edits))]
		p := filepath.Join(dir, "environments", env, "env.cue")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(e.apply(env, string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := generate.Render(context.Background(), srcs)
		if err != nil {
			t.Fatalf("edit %d (%s of %s): %v", i, e.name, env, err)
		}
		f := renderFleet(t, srcs, generate.FleetOptions{Cache: c})
		sameTree(t, fmt.Sprintf("edit %d (%s of %s)", i, e.name, env), r.Tree, f.Tree)
		for _, fe := range f.Envs {
			if fe.Cached == (fe.Name == env) {
				t.Errorf("edit %d (%s of %s): %s cached = %v", i, e.name, env, fe.Name, fe.Cached)
			}
		}
	}
	// An imported package is an input of every environment importing it.
	p := filepath.Join(dir, "environments", "fleet", "fleet.cue")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, append(b, "\n// edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if f := renderFleet(t, srcs, generate.FleetOptions{Cache: c}); f.Cached != 0 {
		t.Errorf("after editing the imported fleet package, %d environments came from the cache", f.Cached)
	}
}

// TestFleetCorruptedCacheHeals damages every entry: the render is a full
// miss with the same bytes (every unit verified again), and rewrites the
// entries.
func TestFleetCorruptedCacheHeals(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir)
	srcs := diskExamples(dir)[2:3]
	c := openCache(t)
	want := renderFleet(t, srcs, generate.FleetOptions{Cache: c}).Tree
	n := 0
	err := filepath.WalkDir(c.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b[len(b)/2] ^= 0xff
		n++
		return os.WriteFile(p, b, 0o644)
	})
	// The base, prod, and one "verified" marker per kustomization of
	// prod (overlays.VerifiedChecks): a damaged marker is a miss too.
	if err != nil || n < 3 {
		t.Fatalf("corrupted %d entries (want the base, prod and prod's verified units): %v", n, err)
	}
	f := renderFleet(t, srcs, generate.FleetOptions{Cache: c})
	sameTree(t, "corrupted", want, f.Tree)
	if f.Cached != 0 {
		t.Fatalf("a corrupted entry was used")
	}
	if f := renderFleet(t, srcs, generate.FleetOptions{Cache: c}); f.Cached != 1 || f.Bases != 0 {
		t.Fatalf("healed cache: %d cached, bases took %s", f.Cached, f.Bases)
	}
}

// TestFleetConcurrentRenders runs two renders of the same fleet on one
// cache at once, twice: both get the uncached bytes.
func TestFleetConcurrentRenders(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir)
	srcs := diskExamples(dir)[:2]
	want := renderFleet(t, srcs, generate.FleetOptions{}).Tree
	c := openCache(t)
	rounds := 2
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		var wg sync.WaitGroup
		trees := make([]*overlays.Tree, 2)
		for i := range trees {
			wg.Go(func() {
				f, err := generate.RenderFleet(context.Background(), srcs, generate.FleetOptions{Cache: c})
				if err != nil {
					t.Error(err)
					return
				}
				trees[i] = f.Tree
			})
		}
		wg.Wait()
		for i, tr := range trees {
			if tr != nil {
				sameTree(t, fmt.Sprintf("round %d render %d", round, i), want, tr)
			}
		}
	}
}

// TestShards renders a fleet in four shards: the shards partition the
// environments, each has the full bases, and their union is the full tree.
func TestShards(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir)
	srcs := diskExamples(dir)
	for i := range 4 {
		if testing.Short() {
			break // the four examples spread over the shards already
		}
		srcs = append(srcs, addEnvironment(t, dir, vigil.ExampleNames[i], fmt.Sprintf("extra-%d", i)))
	}
	c := openCache(t)
	full := renderFleet(t, srcs, generate.FleetOptions{Cache: c})
	union := map[string][]byte{}
	seen := map[string]int{}
	for k := 1; k <= 4; k++ {
		f := renderFleet(t, srcs, generate.FleetOptions{Cache: c, Shard: generate.Shard{K: k, N: 4}})
		for _, e := range f.Envs {
			seen[e.Name]++
		}
		for _, p := range f.Tree.Paths() {
			b, _ := f.Tree.File(p)
			if prev, dup := union[p]; dup && (!overlays.IsBasePath(p) || !bytes.Equal(prev, b)) {
				t.Fatalf("shard %d: %s also in another shard, or a base that differs", k, p)
			}
			union[p] = b
		}
		for _, p := range full.Tree.Paths() {
			if _, ok := f.Tree.File(p); overlays.IsBasePath(p) && !ok {
				t.Fatalf("shard %d lacks base file %s", k, p)
			}
		}
	}
	for _, e := range full.Envs {
		if seen[e.Name] != 1 {
			t.Errorf("%s is in %d shards", e.Name, seen[e.Name])
		}
	}
	sameTree(t, "union of shards", full.Tree, overlays.NewTree(union))
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"", "1", "0/4", "5/4", "a/b", "1/0", "-1/4"} {
		if _, err := generate.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	if s, err := generate.ParseShard("2/4"); err != nil || s != (generate.Shard{K: 2, N: 4}) {
		t.Errorf("ParseShard(2/4) = %v, %v", s, err)
	}
}

// streamInto renders srcs as gen render does: each part goes to an
// overlays.Writer on outDir as soon as it is verified.
func streamInto(t testing.TB, srcs []generate.Source, opts generate.FleetOptions, outDir string, wopts ...overlays.WriteOption) (*generate.Fleet, *overlays.WriteReport, error) {
	t.Helper()
	w, err := overlays.NewWriter(context.Background(), outDir, wopts...)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	opts.Sink = w
	f, err := generate.RenderFleet(context.Background(), srcs, opts)
	if err != nil {
		return nil, nil, err
	}
	if f.Tree != nil {
		t.Fatal("RenderFleet kept a tree although a sink took it")
	}
	r, err := w.Commit()
	return f, r, err
}

// snapshot reads every file under dir, by slash path.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFleetStreamsLikeWrite: streaming every environment into a Writer as
// it finishes writes the tree, and reports the files and object changes,
// exactly as writing the whole tree at once does: into a new directory,
// after an edit and a removed environment, unchanged, and (nothing
// written) when one environment fails.
func TestFleetStreamsLikeWrite(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir)
	srcs := diskExamples(dir)
	c := openCache(t)
	out := t.TempDir()
	streamed, whole := filepath.Join(out, "streamed"), filepath.Join(out, "whole")
	step := func(name string, srcs []generate.Source) *overlays.WriteReport {
		t.Helper()
		previous := map[string][]byte{}
		if err := os.MkdirAll(whole, 0o755); err != nil {
			t.Fatal(err)
		}
		for p, b := range snapshot(t, whole) {
			if p != overlays.ManifestName {
				previous[p] = []byte(b)
			}
		}
		_, got, err := streamInto(t, srcs, generate.FleetOptions{Cache: c, Workers: 3}, streamed)
		if err != nil {
			t.Fatalf("%s: streamed: %v", name, err)
		}
		tree := renderFleet(t, srcs, generate.FleetOptions{Cache: c}).Tree
		want, err := overlays.Write(context.Background(), tree, whole)
		if err != nil {
			t.Fatalf("%s: whole: %v", name, err)
		}
		// Classify compares whole trees in memory, apart from Writer.
		objects, notes, err := overlays.Classify(previous, tree)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(objects, got.Objects); diff != "" || !slices.Equal(notes, got.Notes) {
			t.Errorf("%s: streamed object changes (-Classify +streamed):\n%s%q", name, diff, got.Notes)
		}
		got.Dir, want.Dir = "", ""
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: streamed report (-whole +streamed):\n%s", name, diff)
		}
		if diff := cmp.Diff(snapshot(t, whole), snapshot(t, streamed)); diff != "" {
			t.Errorf("%s: streamed tree (-whole +streamed):\n%s", name, diff)
		}
		return got
	}
	step("fresh", srcs)

	p := filepath.Join(dir, "environments", "prod", "env.cue")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, append(b, "\nmonitoring: prometheus: externalLabels: edit: \"x\"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	edited := step("edited, one removed", srcs[:len(srcs)-1])
	if len(edited.Changed) == 0 || len(edited.Removed) == 0 || len(edited.Objects) == 0 {
		t.Errorf("edited: %d changed files, %d removed, %d object changes; want some of each", len(edited.Changed), len(edited.Removed), len(edited.Objects))
	}

	before, err := os.Stat(streamed)
	if err != nil {
		t.Fatal(err)
	}
	if r := step("unchanged", srcs[:len(srcs)-1]); len(r.Unchanged) != len(r.Written) {
		t.Errorf("unchanged: %d of %d files unchanged", len(r.Unchanged), len(r.Written))
	}
	if after, err := os.Stat(streamed); err != nil || !os.SameFile(before, after) {
		t.Errorf("an unchanged tree was swapped for a copy of itself (%v)", err)
	}

	held := snapshot(t, streamed)
	broken := filepath.Join(dir, "environments", "broken")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "env.cue"), []byte("package broken\n\nname: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := streamInto(t, append(srcs, generate.Source{Dir: broken}), generate.FleetOptions{Cache: c}, streamed); err == nil {
		t.Fatal("a fleet with a broken environment rendered")
	}
	if diff := cmp.Diff(held, snapshot(t, streamed)); diff != "" {
		t.Errorf("a failed render changed the output (-before +after):\n%s", diff)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".streamed.vigil-*")); len(left) > 0 {
		t.Errorf("a failed render left %v beside the output", left)
	}
}
