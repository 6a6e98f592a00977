package overlays

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
)

// splitByEnvironment splits a tree into the shared part and one part per
// environment (envs/<env>/ and clusters/<env>/), as a fleet render hands
// them to a Writer.
func splitByEnvironment(t *testing.T, tree *Tree) (shared *Tree, envs []*Tree) {
	t.Helper()
	parts := map[string]map[string][]byte{}
	for p, b := range tree.files {
		key := ""
		if top, rest, ok := strings.Cut(p, "/"); ok && (top == "envs" || top == "clusters") {
			key, _, _ = strings.Cut(rest, "/")
		}
		if parts[key] == nil {
			parts[key] = map[string][]byte{}
		}
		parts[key][p] = b
	}
	for _, k := range slices.Sorted(maps.Keys(parts)) {
		if k == "" {
			shared = &Tree{files: parts[k]}
		} else {
			envs = append(envs, &Tree{files: parts[k]})
		}
	}
	return shared, envs
}

// TestWriterPartsInAnyOrder: the shared part, then the environments in any
// order, write the same directory as Write of the whole tree.
func TestWriterPartsInAnyOrder(t *testing.T) {
	tree := treeOf(t, smallStack())
	dir := t.TempDir()
	whole := path.Join(dir, "whole")
	mustWrite(t, tree, whole)
	shared, envs := splitByEnvironment(t, tree)
	if shared == nil || len(envs) == 0 {
		t.Fatalf("tree without shared files or environments")
	}
	slices.Reverse(envs)
	parts := path.Join(dir, "parts")
	w, err := NewWriter(context.Background(), parts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, p := range append([]*Tree{shared}, envs...) {
		if err := w.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if a, b := snapshot(t, whole), snapshot(t, parts); !maps.Equal(a, b) {
		t.Errorf("writing in parts gave another tree than writing it whole")
	}
	if err := w.Add(shared); err == nil {
		t.Errorf("Add after Commit succeeded")
	}
}

// TestWriterRefusesOverlappingParts: parts that put two files at one path,
// or a file where another part has a directory, are refused, and nothing
// is written.
func TestWriterRefusesOverlappingParts(t *testing.T) {
	for _, c := range []struct {
		name        string
		first, then map[string][]byte
		want        string
	}{
		{"same path", map[string][]byte{"base/a.yaml": nil}, map[string][]byte{"base/a.yaml": nil}, "two files at base/a.yaml"},
		{"file over directory", map[string][]byte{"base/a/b.yaml": nil}, map[string][]byte{"base/a": nil}, "both a file and a directory"},
		{"directory over file", map[string][]byte{"base/a": nil}, map[string][]byte{"base/a/b.yaml": nil}, "both a file and a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := path.Join(t.TempDir(), "out")
			w, err := NewWriter(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if err := w.Add(&Tree{files: c.first}); err != nil {
				t.Fatal(err)
			}
			if err := w.Add(&Tree{files: c.then}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			w.Abort()
			if l := leftovers(t, dir); len(l) > 0 {
				t.Errorf("left %v", l)
			}
		})
	}
}

// TestWriterClosedAfterFailedAdd: a part refused closes the Writer, so the
// tree without it can never be committed.
func TestWriterClosedAfterFailedAdd(t *testing.T) {
	dir := path.Join(t.TempDir(), "out")
	w, err := NewWriter(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(&Tree{files: map[string][]byte{"base/a.yaml": []byte("a: 1\n")}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(&Tree{files: map[string][]byte{"base/a.yaml": nil}}); err == nil {
		t.Fatal("a second file at one path was accepted")
	}
	if _, err := w.Commit(); err == nil {
		t.Fatal("Commit after a failed Add wrote the tree without that part")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output directory exists after a failed Add: %v", err)
	}
}
