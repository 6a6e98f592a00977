package overlays

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/vigil-stack/vigil/generate/stack"
)

// snapshot reads a directory completely: file contents, symlink targets,
// modes. Two equal snapshots mean the directory did not change.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "symlink " + target
		case d.IsDir():
			out[rel] = fmt.Sprintf("dir %v", info.Mode().Perm())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %v\n%s", info.Mode().Perm(), b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func treeOf(t *testing.T, env *stack.Set) *Tree {
	t.Helper()
	tree, err := Compile(context.Background(), smallStack(), []Environment{{Name: "prod", Objects: env}})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// leftovers lists the temporary directories Write left beside dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".vigil-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// mustWrite writes with Migrated: going from smallStack to prodStack grows
// a StatefulSet's volume template, which Write refuses otherwise, and these
// tests are about the writing (TestWriteRefusesImmutableChange is not).
func mustWrite(t *testing.T, tree *Tree, dir string) *WriteReport {
	t.Helper()
	r, err := Write(context.Background(), tree, dir, Migrated())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return r
}

func TestWriteOwnership(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy")
	v1 := treeOf(t, smallStack())
	r := mustWrite(t, v1, dir)
	if len(r.Added) != v1.Len() || len(r.Written) != v1.Len() || len(r.Changed)+len(r.Unchanged)+len(r.Removed)+len(r.Foreign) != 0 {
		t.Fatalf("first write: %s", r)
	}
	for _, p := range v1.Paths() {
		got, err := os.ReadFile(filepath.Join(dir, p))
		want, _ := v1.File(p)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%s not written correctly: %v", p, err)
		}
	}
	m, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil || !strings.HasPrefix(string(m), manifestVersion+"\n") || !strings.Contains(string(m), "\nbase/prometheus/instances/kustomization.yaml\n") {
		t.Fatalf("manifest: %v\n%s", err, m)
	}

	// Someone adds files of their own.
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("hand-written\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, "envs", "prod", "notes"), 0o700)
	os.WriteFile(filepath.Join(dir, "envs", "prod", "notes", "todo.txt"), []byte("todo\n"), 0o644)
	os.Symlink("envs/prod", filepath.Join(dir, "current"))
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)

	// The next version changes a file, drops one (the operator Service
	// of prod's overlay: prod now keeps it) and adds one.
	v2 := treeOf(t, stackWith(func(o map[string]stack.Object) map[string]stack.Object {
		o["statefulset/prometheus"].(*appsv1.StatefulSet).Spec.Replicas = ptr(int32(3))
		return o
	}))
	before := snapshot(t, dir)
	r = mustWrite(t, v2, dir)
	wantReport := &WriteReport{
		Dir:       r.Dir,
		Written:   v2.Paths(),
		Added:     []string{"envs/prod/prometheus/instances/patches/prometheus/statefulset-prometheus.yaml"},
		Changed:   []string{"envs/prod/prometheus/instances/kustomization.yaml"},
		Unchanged: without(v2.Paths(), "envs/prod/prometheus/instances/patches/prometheus/statefulset-prometheus.yaml", "envs/prod/prometheus/instances/kustomization.yaml"),
		Foreign:   []string{"README.md", "current", "envs/prod/notes/todo.txt"},
		Objects: []ObjectChange{{Environment: "prod", Group: "apps", Kind: "StatefulSet", Namespace: "monitoring",
			Name: "prometheus", Action: ActionInPlace}},
	}
	if !reflect.DeepEqual(r, wantReport) {
		t.Fatalf("report:\n%s\nwant:\n%s", r, wantReport)
	}
	after := snapshot(t, dir)
	for _, p := range []string{"README.md", "current", "empty", "envs/prod/notes", "envs/prod/notes/todo.txt"} {
		if before[p] != after[p] {
			t.Errorf("foreign %s changed: %q -> %q", p, before[p], after[p])
		}
	}

	// And back: the patch Vigil wrote is removed again.
	r = mustWrite(t, v1, dir)
	if !reflect.DeepEqual(r.Removed, []string{"envs/prod/prometheus/instances/patches/prometheus/statefulset-prometheus.yaml"}) {
		t.Errorf("removed: %v", r.Removed)
	}
	if _, err := os.Stat(filepath.Join(dir, "envs/prod/prometheus/instances/patches")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale patches directory kept: %v", err)
	}
	if l := leftovers(t, dir); l != nil {
		t.Errorf("temporary directories left: %v", l)
	}
}

func without(all []string, drop ...string) []string {
	var out []string
	for _, a := range all {
		keep := true
		for _, d := range drop {
			if a == d {
				keep = false
			}
		}
		if keep {
			out = append(out, a)
		}
	}
	return out
}

func TestWriteRefusesUnownedDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("x: 1\n"), 0o644)
	before := snapshot(t, dir)
	_, err := Write(context.Background(), treeOf(t, smallStack()), dir)
	if !errors.Is(err, ErrNotOwned) || !strings.Contains(err.Error(), "render into an empty or new directory") {
		t.Fatalf("got %v, want ErrNotOwned saying what to do", err)
	}
	if _, err := Diff(treeOf(t, smallStack()), dir); !errors.Is(err, ErrNotOwned) {
		t.Errorf("Diff: got %v, want ErrNotOwned", err)
	}
	if !reflect.DeepEqual(before, snapshot(t, dir)) {
		t.Error("refused write changed the directory")
	}
	// An existing empty directory is fine.
	empty := t.TempDir()
	mustWrite(t, treeOf(t, smallStack()), empty)
}

func TestWriteRefusesToOverwriteForeignFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	tree := treeOf(t, smallStack())
	mustWrite(t, tree, dir)
	// A hand-made file where the next tree puts one of its own.
	os.Remove(filepath.Join(dir, ManifestName))
	os.WriteFile(filepath.Join(dir, ManifestName), []byte(manifestVersion+"\n"), 0o644)
	before := snapshot(t, dir)
	_, err := Write(context.Background(), tree, dir)
	if err == nil || !strings.Contains(err.Error(), "exists but was not written by Vigil") {
		t.Fatalf("got %v", err)
	}
	if !reflect.DeepEqual(before, snapshot(t, dir)) {
		t.Error("refused write changed the directory")
	}
}

// TestWriteFailureLeavesPreviousTree fails the write at every step in turn;
// each time the previous tree must be byte for byte what it was and nothing
// may be left beside it.
func TestWriteFailureLeavesPreviousTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	v1 := treeOf(t, smallStack())
	mustWrite(t, v1, dir)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("mine\n"), 0o644)
	v2 := treeOf(t, prodStack())
	before := snapshot(t, dir)

	var steps []string
	writeHook = func(step, file string) error { steps = append(steps, step+" "+file); return nil }
	mustWrite(t, v1, dir) // count the steps of a write
	writeHook = nil
	if !reflect.DeepEqual(before, snapshot(t, dir)) {
		t.Fatal("rewriting the same tree changed the directory")
	}
	injected := errors.New("injected failure")
	for i, failAt := range steps {
		t.Run(failAt, func(t *testing.T) {
			n := 0
			writeHook = func(step, file string) error {
				if n == i {
					return injected
				}
				n++
				return nil
			}
			defer func() { writeHook = nil }()
			_, err := Write(context.Background(), v2, dir, Migrated())
			if !errors.Is(err, injected) {
				t.Fatalf("got %v, want the injected failure", err)
			}
			if !reflect.DeepEqual(before, snapshot(t, dir)) {
				t.Fatal("failed write changed the previous tree")
			}
			if l := leftovers(t, dir); l != nil {
				t.Fatalf("left behind: %v", l)
			}
		})
	}

	// Cancellation half-way is a failure like any other.
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	writeHook = func(step, file string) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	}
	_, err := Write(ctx, v2, dir, Migrated())
	writeHook = nil
	if !errors.Is(err, context.Canceled) || !reflect.DeepEqual(before, snapshot(t, dir)) {
		t.Fatalf("cancelled write: %v", err)
	}
}

func TestWriteSwapFallback(t *testing.T) {
	exchangeDirs = func(a, b string) error { return errExchangeUnsupported }
	defer func() { exchangeDirs = exchange }()
	dir := filepath.Join(t.TempDir(), "out")
	mustWrite(t, treeOf(t, smallStack()), dir)
	r := mustWrite(t, treeOf(t, prodStack()), dir)
	if len(r.Changed) == 0 {
		t.Errorf("nothing changed: %s", r)
	}
	want := treeOf(t, prodStack())
	for _, p := range want.Paths() {
		b, _ := os.ReadFile(filepath.Join(dir, p))
		w, _ := want.File(p)
		if string(b) != string(w) {
			t.Fatalf("%s not written", p)
		}
	}
	if l := leftovers(t, dir); l != nil {
		t.Errorf("left behind: %v", l)
	}
}

func TestWriteThroughSymlink(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	os.Mkdir(real, 0o755)
	link := filepath.Join(root, "link")
	os.Symlink(real, link)
	r := mustWrite(t, treeOf(t, smallStack()), link)
	if r.Dir != real {
		t.Errorf("wrote to %s, want %s", r.Dir, real)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v", err)
	}
	if _, err := os.Stat(filepath.Join(link, "clusters/prod/kustomization.yaml")); err != nil {
		t.Error(err)
	}
}

func TestDiff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	v1 := treeOf(t, smallStack())
	d, err := Diff(v1, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files) != v1.Len() || d.Files[0].Status != FileAdded || !strings.HasPrefix(d.Files[0].Unified, "--- /dev/null\n+++ b/base/") {
		t.Fatalf("diff against nothing: %s\n%+v", d.Summary(), d.Files[0])
	}
	mustWrite(t, v1, dir)
	d, err = Diff(v1, dir)
	if err != nil || d.HasChanges() || d.String() != "" {
		t.Fatalf("diff after write: %v %s", err, d.Summary())
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("x\n"), 0o644)
	v2 := treeOf(t, stackWith(func(o map[string]stack.Object) map[string]stack.Object {
		o["statefulset/prometheus"].(*appsv1.StatefulSet).Spec.Replicas = ptr(int32(3))
		delete(o, "service/prometheus-operator")
		return o
	}))
	d, err = Diff(v2, dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range d.Files {
		got = append(got, string(f.Status)+" "+f.Path)
	}
	want := []string{
		"changed envs/prod/prometheus-operator/operators/kustomization.yaml",
		"added envs/prod/prometheus-operator/operators/patches/prometheus-operator/service-prometheus-operator.yaml",
		"changed envs/prod/prometheus/instances/kustomization.yaml",
		"added envs/prod/prometheus/instances/patches/prometheus/statefulset-prometheus.yaml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !reflect.DeepEqual(d.Foreign, []string{"README.md"}) {
		t.Errorf("foreign: %v", d.Foreign)
	}
	wantDiff := `--- a/envs/prod/prometheus-operator/operators/kustomization.yaml
+++ b/envs/prod/prometheus-operator/operators/kustomization.yaml
@@ -8,5 +8,7 @@
     path: spec/template/metadata/labels
   pairs:
     vigil.dev/environment: prod
+patches:
+- path: patches/prometheus-operator/service-prometheus-operator.yaml
 resources:
 - ../../../../base/prometheus-operator/operators
`
	if d.Files[0].Unified != wantDiff {
		t.Errorf("unified diff:\n%s\nwant:\n%s", d.Files[0].Unified, wantDiff)
	}
	if d.Summary() != dir+": 2 added, 2 changed, 0 removed" {
		t.Errorf("summary: %s", d.Summary())
	}
	// Removal shows up once the newer tree is written and the older one
	// compared.
	mustWrite(t, v2, dir)
	d, _ = Diff(v1, dir)
	removed := 0
	for _, f := range d.Files {
		if f.Status == FileRemoved {
			removed++
			if !strings.Contains(f.Unified, "+++ /dev/null") {
				t.Errorf("removal diff: %s", f.Unified)
			}
		}
	}
	if removed != 2 {
		t.Errorf("removed %d files, want 2:\n%s", removed, d)
	}
}

// TestWriteSyncFallback takes the path of a kernel without syncfs: every
// file Write creates and every directory must then be fsynced one by one.
func TestWriteSyncFallback(t *testing.T) {
	synced := map[string]bool{}
	syncFS = func(string) error { return errSyncfsUnsupported }
	fsyncPath = func(p string) error { synced[p] = true; return syncPath(p) }
	defer func() { syncFS, fsyncPath = syncfsOf, syncPath }()
	dir := filepath.Join(t.TempDir(), "out")
	tree := treeOf(t, prodStack())
	mustWrite(t, tree, dir)
	var missing []string
	for _, p := range append(tree.Paths(), ManifestName) {
		found := false
		for s := range synced {
			if strings.HasSuffix(s, string(filepath.Separator)+filepath.FromSlash(p)) {
				found = true
			}
		}
		if !found {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("not fsynced without syncfs: %v", missing)
	}
}

// TestWriteSyncFailure: a tree that cannot be made durable is not swapped
// in, and the previous tree stays as it was.
func TestWriteSyncFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	mustWrite(t, treeOf(t, smallStack()), dir)
	before := snapshot(t, dir)
	eio := errors.New("input/output error")
	syncFS = func(string) error { return eio }
	defer func() { syncFS = syncfsOf }()
	if _, err := Write(context.Background(), treeOf(t, prodStack()), dir, Migrated()); !errors.Is(err, eio) {
		t.Fatalf("got %v, want the sync failure", err)
	}
	if !reflect.DeepEqual(before, snapshot(t, dir)) {
		t.Fatal("a tree that was not synced replaced the previous one")
	}
	if l := leftovers(t, dir); l != nil {
		t.Errorf("left behind: %v", l)
	}
}
