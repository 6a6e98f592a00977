//go:build unix

package overlays

import (
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

// Writing the tree already on disk changes nothing there: no directory is
// rebuilt or swapped (the output directory keeps its inode) and the report
// says every file is unchanged. A tampered manifest or a file whose mode
// Write would change makes it write the tree again.
func TestWriteUnchangedTreeLeavesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy")
	tree := treeOf(t, prodStack())
	mustWrite(t, tree, dir)
	inode := func() uint64 {
		t.Helper()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before, ino := snapshot(t, dir), inode()
	r := mustWrite(t, tree, dir)
	if len(r.Unchanged) != len(tree.Paths()) || len(r.Added)+len(r.Changed)+len(r.Removed) != 0 {
		t.Errorf("report: %d unchanged of %d, %d added, %d changed, %d removed", len(r.Unchanged), len(tree.Paths()), len(r.Added), len(r.Changed), len(r.Removed))
	}
	if inode() != ino {
		t.Error("an unchanged tree was rebuilt and swapped in")
	}
	if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
		t.Error("writing the same tree changed the directory")
	}
	if got := leftovers(t, dir); len(got) != 0 {
		t.Errorf("leftovers: %v", got)
	}

	some := tree.Paths()[0]
	for name, tamper := range map[string]func(){
		"a file's mode": func() {
			if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(some)), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"the manifest": func() {
			f, err := os.OpenFile(filepath.Join(dir, ManifestName), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString("\n"); err != nil {
				t.Fatal(err)
			}
		},
	} {
		tamper()
		ino := inode()
		mustWrite(t, tree, dir)
		if inode() == ino {
			t.Errorf("%s changed on disk, but Write left the tree as it was", name)
		}
		if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
			t.Errorf("%s changed on disk: Write did not restore the tree", name)
		}
	}
}
