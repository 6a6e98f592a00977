package overlays

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// FileStatus says how a file would change.
type FileStatus string

// The ways a file can change.
const (
	FileAdded   FileStatus = "added"
	FileChanged FileStatus = "changed"
	FileRemoved FileStatus = "removed"
)

// FileDiff is one file Write would change.
type FileDiff struct {
	Path   string
	Status FileStatus
	// Unified is the unified diff (a/ and b/ prefixes, 3 lines of context).
	Unified string
}

// DiffReport is what Write would change in a directory.
type DiffReport struct {
	// Dir is the output directory, absolute and with symlinks resolved.
	Dir string
	// Files are the files that would change, sorted by path.
	Files []FileDiff
	// Foreign are files Vigil did not write; Write keeps them.
	Foreign []string
	// Objects labels every object of every environment that the new
	// tree adds, removes or changes: in place, by recreation, or
	// refused (see Classify).
	Objects []ObjectChange
	// Notes name old kustomizations whose objects could not be compared.
	Notes []string
}

// Refused are the object changes Write would refuse.
func (r *DiffReport) Refused() []ObjectChange { return Refused(r.Objects) }

// HasChanges reports whether Write would change anything.
func (r *DiffReport) HasChanges() bool { return len(r.Files) > 0 }

// Summary is one line: counts by status.
func (r *DiffReport) Summary() string {
	n := map[FileStatus]int{}
	for _, f := range r.Files {
		n[f.Status]++
	}
	if len(r.Files) == 0 {
		return fmt.Sprintf("%s: up to date", r.Dir)
	}
	return fmt.Sprintf("%s: %d added, %d changed, %d removed", r.Dir, n[FileAdded], n[FileChanged], n[FileRemoved])
}

// String is the unified diff of every changed file, in path order; empty
// when nothing would change.
func (r *DiffReport) String() string {
	var b strings.Builder
	for _, f := range r.Files {
		b.WriteString(f.Unified)
	}
	return b.String()
}

// Diff compares tree with what outDir holds and reports what Write would
// change. It reads outDir the way Write does and fails where Write would
// (ErrNotOwned, a foreign file in the tree's way).
func Diff(tree *Tree, outDir string) (*DiffReport, error) {
	if tree == nil {
		return nil, fmt.Errorf("diff %s: no tree", outDir)
	}
	if err := tree.checkPaths(); err != nil {
		return nil, fmt.Errorf("diff %s: %w", outDir, err)
	}
	dir, err := resolveDir(outDir)
	if err != nil {
		return nil, err
	}
	prev, err := readPrevious(dir)
	if err != nil {
		return nil, err
	}
	if err := prev.conflicts(tree); err != nil {
		return nil, fmt.Errorf("diff %s: %w", dir, err)
	}
	r := &DiffReport{Dir: dir, Foreign: prev.foreign}
	for _, p := range tree.Paths() {
		now := tree.files[p]
		old, existed := prev.content(p)
		switch {
		case !existed:
			r.Files = append(r.Files, FileDiff{Path: p, Status: FileAdded, Unified: unified(p, nil, now, false, true)})
		case !bytes.Equal(old, now):
			r.Files = append(r.Files, FileDiff{Path: p, Status: FileChanged, Unified: unified(p, old, now, true, true)})
		}
	}
	for _, p := range prev.owned {
		if _, ok := tree.files[p]; ok {
			continue
		}
		old, existed := prev.content(p)
		if !existed {
			continue // listed, but already gone
		}
		r.Files = append(r.Files, FileDiff{Path: p, Status: FileRemoved, Unified: unified(p, old, nil, true, false)})
	}
	sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Path < r.Files[j].Path })
	if r.Objects, r.Notes, err = classifyPrevious(prev, tree); err != nil {
		return nil, fmt.Errorf("diff %s: %w", dir, err)
	}
	return r, nil
}

// classifyPrevious labels the object changes from the tree Vigil wrote
// into a directory to the new one. Foreign files are not part of it.
func classifyPrevious(prev *previous, tree *Tree) ([]ObjectChange, []string, error) {
	return Classify(prev.ownedContents(), tree)
}

func unified(p string, a, b []byte, hasA, hasB bool) string {
	from, to := "a/"+filepath.ToSlash(p), "b/"+filepath.ToSlash(p)
	if !hasA {
		from = "/dev/null"
	}
	if !hasB {
		to = "/dev/null"
	}
	d := difflib.UnifiedDiff{A: splitLines(a), B: splitLines(b), FromFile: from, ToFile: to, Context: 3}
	s, err := difflib.GetUnifiedDiffString(d)
	if err != nil {
		// Writing to a strings.Builder does not fail.
		return fmt.Sprintf("--- %s\n+++ %s\n(diff failed: %v)\n", from, to, err)
	}
	return s
}

// splitLines splits after each newline; unlike difflib.SplitLines it adds no
// empty last line to text that ends with a newline.
func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}
