package overlays

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ManifestName is the file in an output directory that lists the files
// Vigil wrote there. Files it does not list belong to someone else and are
// left alone.
const ManifestName = ".vigil-manifest"

// manifestVersion is the manifest's first line; a manifest of another
// version is refused rather than misread.
const manifestVersion = "vigil-manifest v1"

// ErrNotOwned is returned (wrapped) for a non-empty output directory
// without a manifest: Vigil did not create it and will not write into it.
var ErrNotOwned = errors.New("output directory is not empty and was not written by Vigil")

// ErrLocked is returned (wrapped) when another render kept the output
// directory locked for longer than Write waits.
var ErrLocked = errors.New("another render is writing the output directory")

// ErrRefused is returned (wrapped) when the output directory holds
// something Vigil will not replace.
var ErrRefused = errors.New("output directory refused")

// lockWait is how long Write waits for another render into the same
// directory to finish; a variable so that tests can shorten it.
var lockWait = 2 * time.Minute

// WriteReport says what Write did. Paths are relative to Dir and sorted.
type WriteReport struct {
	// Dir is the output directory, absolute and with symlinks resolved.
	Dir string
	// Written is every file of the tree, now on disk.
	Written []string
	// Added, Changed and Unchanged split Written by the previous content.
	Added, Changed, Unchanged []string
	// Removed were written by an earlier run and are no longer produced.
	Removed []string
	// Foreign were not written by Vigil and were kept.
	Foreign []string
	// Objects labels the object changes, as DiffReport.Objects does.
	Objects []ObjectChange
	// Notes name old kustomizations whose objects could not be compared.
	Notes []string
}

// String summarizes the report, one line per file that changed state.
func (r *WriteReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d files (%d added, %d changed, %d unchanged), %d removed, %d foreign kept\n",
		r.Dir, len(r.Written), len(r.Added), len(r.Changed), len(r.Unchanged), len(r.Removed), len(r.Foreign))
	for _, l := range []struct {
		mark  string
		files []string
	}{{"A", r.Added}, {"M", r.Changed}, {"D", r.Removed}, {"?", r.Foreign}} {
		for _, f := range l.files {
			fmt.Fprintf(&b, "%s %s\n", l.mark, f)
		}
	}
	return b.String()
}

// WriteOption changes how Write works.
type WriteOption func(*writeOptions)

type writeOptions struct{ migrated, quietAdditions bool }

// QuietAdditions makes Write leave out of WriteReport.Objects the objects
// of environments the directory does not hold yet: all of them are added,
// none can be refused, and building each such kustomization only to name
// its objects was most of the CPU of a render into a fresh directory.
// Changes to environments already there are classified as ever.
func QuietAdditions() WriteOption { return func(o *writeOptions) { o.quietAdditions = true } }

// Migrated lets Write replace a tree whose objects change immutable fields
// in ways Vigil refuses: the caller states that the manual migrations the
// *ImmutableError listed are done.
func Migrated() WriteOption { return func(o *writeOptions) { o.migrated = true } }

// writeHook lets tests fail a write at a chosen step; nil otherwise.
var writeHook func(step, file string) error

func hook(step, file string) error {
	if writeHook == nil {
		return nil
	}
	return writeHook(step, file)
}

// Write puts tree into outDir atomically. The new tree is rendered into a
// fresh directory beside outDir, made durable (see syncTree), and then
// swapped in with one rename (renameat2 RENAME_EXCHANGE on Linux), so any
// failure before the swap leaves the previous tree exactly as it was and
// readers never see a half-written tree.
//
// Vigil owns outDir: it records the files it writes in ManifestName, removes
// the ones it no longer produces, and carries every file it did not write
// over into the new tree (reported as foreign). It refuses a non-empty
// directory without a manifest (ErrNotOwned) and a foreign file where the
// tree wants one of its own.
//
// It also refuses, with an *ImmutableError, a tree that changes an
// immutable field of an object that cannot safely be recreated (see
// Classify), unless given Migrated. Report.Objects labels every object
// change either way.
func Write(ctx context.Context, tree *Tree, outDir string, opts ...WriteOption) (*WriteReport, error) {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if tree == nil {
		return nil, fmt.Errorf("write %s: no tree", outDir)
	}
	if err := tree.checkPaths(); err != nil {
		return nil, fmt.Errorf("write %s: %w", outDir, err)
	}
	dir, err := resolveDir(outDir)
	if err != nil {
		return nil, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	// The new tree is built beside dir and swapped in, so the lock is on
	// the parent: it outlives the swap, and it covers the leftovers.
	unlock, err := lockParent(ctx, parent, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := removeLeftovers(parent, filepath.Base(dir)); err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	prev, err := readPrevious(dir)
	if err != nil {
		return nil, err
	}
	if err := prev.conflicts(tree); err != nil {
		return nil, fmt.Errorf("write %s: %w: %w", dir, ErrRefused, err)
	}
	// A change Flux would fail on forever must stop here, before the
	// tree reaches Git, not on the cluster.
	oldFiles := prev.ownedContents()
	objects, notes, err := classify(oldFiles, tree, !o.quietAdditions)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	if refused := Refused(objects); len(refused) > 0 && !o.migrated {
		return nil, fmt.Errorf("write %s: %w", dir, &ImmutableError{Refused: refused})
	}
	if prev.holds(tree, oldFiles) {
		// The tree on disk is this tree, byte for byte and mode for
		// mode: building a copy of it to swap in (a directory per unit,
		// a link per file) was most of an unchanged fleet's render.
		return &WriteReport{Dir: dir, Foreign: prev.foreign, Objects: objects, Notes: notes,
			Unchanged: tree.Paths(), Written: tree.Paths()}, nil
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".vigil-new-")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	swapped := false
	defer func() {
		if !swapped {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, prev.mode); err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}

	report := &WriteReport{Dir: dir, Foreign: prev.foreign, Objects: objects, Notes: notes}
	dirs := map[string]bool{".": true}
	// written are the files created here (not linked): the ones the
	// per-file fallback of syncTree must fsync.
	var written []string
	for _, p := range tree.Paths() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("write %s: %w", dir, err)
		}
		content := tree.files[p]
		old, existed := oldFiles[p]
		switch {
		case !existed:
			report.Added = append(report.Added, p)
		case bytes.Equal(old, content):
			report.Unchanged = append(report.Unchanged, p)
		default:
			report.Changed = append(report.Changed, p)
		}
		report.Written = append(report.Written, p)
		if err := makeParents(tmp, p, dirs, prev); err != nil {
			return nil, fmt.Errorf("write %s: %w", dir, err)
		}
		// An unchanged file is hard-linked from the previous tree: it
		// is already on disk, and the link makes the new tree share it
		// without rewriting it.
		if !(existed && bytes.Equal(old, content) && prev.linkable(p) && os.Link(filepath.Join(dir, filepath.FromSlash(p)), filepath.Join(tmp, filepath.FromSlash(p))) == nil) {
			if err := writeFile(filepath.Join(tmp, filepath.FromSlash(p)), content, 0o644); err != nil {
				return nil, fmt.Errorf("write %s: %w", dir, err)
			}
			written = append(written, p)
		}
		if err := hook("file", p); err != nil {
			return nil, fmt.Errorf("write %s: %w", dir, err)
		}
	}
	for _, p := range prev.owned {
		if _, ok := tree.files[p]; !ok {
			report.Removed = append(report.Removed, p)
		}
	}
	for _, d := range prev.foreignDirs {
		if err := makeParents(tmp, path.Join(d, "x"), dirs, prev); err != nil {
			return nil, fmt.Errorf("write %s: %w", dir, err)
		}
	}
	for _, p := range prev.foreign {
		if err := makeParents(tmp, p, dirs, prev); err != nil {
			return nil, fmt.Errorf("write %s: %w", dir, err)
		}
		copied, err := carry(filepath.Join(dir, filepath.FromSlash(p)), filepath.Join(tmp, filepath.FromSlash(p)))
		if err != nil {
			return nil, fmt.Errorf("write %s: keeping foreign file %s: %w", dir, p, err)
		}
		if copied {
			written = append(written, p)
		}
		if err := hook("foreign", p); err != nil {
			return nil, fmt.Errorf("write %s: %w", dir, err)
		}
	}
	if err := writeFile(filepath.Join(tmp, ManifestName), manifest(tree), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	written = append(written, ManifestName)
	if err := syncTree(tmp, written, dirs); err != nil {
		return nil, fmt.Errorf("write %s: making the new tree durable: %w", dir, err)
	}
	if err := hook("swap", ""); err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	old, err := swapIn(tmp, dir, prev.exists)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	swapped = true
	if err := syncDir(parent); err != nil {
		return report, fmt.Errorf("write %s: tree in place but not synced: %w", dir, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return report, fmt.Errorf("write %s: tree in place, but removing the previous one at %s failed: %w", dir, old, err)
		}
	}
	return report, nil
}

// lockParent takes the exclusive lock on parent that every Write into one
// of its directories holds, waiting for another render to finish.
func lockParent(ctx context.Context, parent, dir string) (func(), error) {
	deadline := time.Now().Add(lockWait)
	for {
		unlock, busy, err := tryLock(parent)
		if err != nil {
			return nil, fmt.Errorf("write %s: locking %s: %w", dir, parent, err)
		}
		if !busy {
			return unlock, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("write %s: %w (it holds a lock on %s; waited %s); try again when it has finished", dir, ErrLocked, parent, lockWait)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("write %s: waiting for another render: %w", dir, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// removeLeftovers deletes the trees a killed render left beside the output
// directory (.<base>.vigil-new-*, .<base>.vigil-old-*). The caller holds the
// lock, so no live render owns them.
func removeLeftovers(parent, base string) error {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !(strings.HasPrefix(name, "."+base+".vigil-new-") || strings.HasPrefix(name, "."+base+".vigil-old-")) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(parent, name)); err != nil {
			return fmt.Errorf("removing %s left by an interrupted render: %w", name, err)
		}
	}
	return nil
}

// resolveDir makes outDir absolute and resolves a symlink to it, so that the
// swap replaces the directory and not the link.
func resolveDir(outDir string) (string, error) {
	if outDir == "" {
		return "", fmt.Errorf("no output directory")
	}
	dir, err := filepath.Abs(outDir)
	if err != nil {
		return "", fmt.Errorf("output directory %s: %w", outDir, err)
	}
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if dir, err = filepath.EvalSymlinks(dir); err != nil {
			return "", fmt.Errorf("output directory %s: %w", outDir, err)
		}
	}
	return dir, nil
}

// checkPaths rejects paths that would escape or clash in a directory.
func (t *Tree) checkPaths() error {
	for p := range t.files {
		if p == "" || p != path.Clean(p) || path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || p == ManifestName {
			return fmt.Errorf("invalid tree path %q", p)
		}
	}
	for p := range t.files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, clash := t.files[d]; clash {
				return fmt.Errorf("tree path %s is both a file and a directory", d)
			}
		}
	}
	return nil
}

// previous is what an output directory holds before a write.
type previous struct {
	dir    string
	exists bool
	mode   fs.FileMode
	// owned are the files the manifest lists (whether or not present).
	owned []string
	// files maps every regular file present to its mode.
	files map[string]fs.FileMode
	// foreign are files and symlinks the manifest does not list.
	foreign []string
	// foreignDirs are empty directories, kept as they are.
	foreignDirs []string
	// dirModes are the modes of the existing directories.
	dirModes map[string]fs.FileMode
	// manifest is the manifest file as read.
	manifest []byte
}

func readPrevious(dir string) (*previous, error) {
	prev := &previous{dir: dir, mode: 0o755, files: map[string]fs.FileMode{}, dirModes: map[string]fs.FileMode{}}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return prev, nil
	}
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("output directory %s is not a directory", dir)
	}
	prev.exists = true
	prev.mode = fi.Mode().Perm()
	owned := map[string]bool{}
	m, err := os.ReadFile(filepath.Join(dir, ManifestName))
	switch {
	case err == nil:
		prev.manifest = m
		if prev.owned, err = parseManifest(m); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestName), err)
		}
		for _, p := range prev.owned {
			owned[p] = true
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("output directory: %w", err)
	}
	hasManifest := err == nil
	if !hasManifest {
		// Refuse a foreign directory from its top level: walking "/" or
		// "/usr" to find that it holds files takes many seconds.
		empty, err := isEmptyDir(dir)
		if err != nil {
			return nil, fmt.Errorf("output directory: %w", err)
		}
		if !empty {
			return nil, fmt.Errorf("%w: %s has files but no %s; render into an empty or new directory, or move its contents away",
				ErrNotOwned, dir, ManifestName)
		}
		return prev, nil
	}
	// Directories the walk finds nothing in are empty: no open and read
	// per directory to find out (thousands in a fleet's tree).
	hasEntries := map[string]bool{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." || rel == ManifestName {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hasEntries[path.Dir(rel)] = true
		switch {
		case d.IsDir():
			prev.dirModes[rel] = info.Mode().Perm()
		case info.Mode().IsRegular():
			prev.files[rel] = info.Mode()
			if !owned[rel] {
				prev.foreign = append(prev.foreign, rel)
			}
		default:
			// Symlinks and the like are never Vigil's.
			prev.foreign = append(prev.foreign, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading output directory %s: %w", dir, err)
	}
	for d := range prev.dirModes {
		if !hasEntries[d] {
			prev.foreignDirs = append(prev.foreignDirs, d)
		}
	}
	sort.Strings(prev.foreign)
	sort.Strings(prev.foreignDirs)
	return prev, nil
}

func isEmptyDir(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// conflicts refuses to let the tree take the place of something Vigil did
// not write.
func (p *previous) conflicts(t *Tree) error {
	for _, f := range p.foreign {
		if _, clash := t.files[f]; clash {
			return fmt.Errorf("%s exists but was not written by Vigil; move it away", f)
		}
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			if _, clash := t.files[d]; clash {
				return fmt.Errorf("%s is a directory holding files not written by Vigil (%s); move it away", d, f)
			}
		}
	}
	for _, d := range p.foreignDirs {
		if _, clash := t.files[d]; clash {
			return fmt.Errorf("%s is a directory not created by Vigil; move it away", d)
		}
	}
	return nil
}

// content reads a previous owned file, if there is one.
func (p *previous) content(rel string) ([]byte, bool) {
	if _, ok := p.files[rel]; !ok {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, false
	}
	return b, true
}

// ownedContents reads every file of the previous tree the manifest lists
// and that is still there, by path.
func (p *previous) ownedContents() map[string][]byte {
	out := make(map[string][]byte, len(p.owned))
	for _, rel := range p.owned {
		if b, ok := p.content(rel); ok {
			out[rel] = b
		}
	}
	return out
}

// holds reports whether the previous tree is t: the same manifest, and
// every file present with the same bytes (old, from ownedContents) and the
// mode Write gives it.
func (p *previous) holds(t *Tree, old map[string][]byte) bool {
	if !p.exists || len(p.owned) != len(t.files) || len(old) != len(t.files) {
		return false
	}
	for rel, b := range t.files {
		if o, ok := old[rel]; !ok || !p.linkable(rel) || !bytes.Equal(o, b) {
			return false
		}
	}
	return p.manifest != nil && bytes.Equal(p.manifest, manifest(t))
}

// linkable reports whether a previous file can stand in for a new one.
func (p *previous) linkable(rel string) bool {
	m, ok := p.files[rel]
	return ok && m.IsRegular() && m.Perm() == 0o644
}

// makeParents creates the directories above file rel inside root, with the
// modes they had before when they existed.
func makeParents(root, rel string, made map[string]bool, prev *previous) error {
	d := path.Dir(rel)
	if made[d] {
		return nil
	}
	if err := makeParents(root, d, made, prev); err != nil {
		return err
	}
	mode, ok := prev.dirModes[d]
	if !ok {
		mode = 0o755
	}
	if err := os.Mkdir(filepath.Join(root, filepath.FromSlash(d)), mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	made[d] = true
	return nil
}

// carry brings a foreign file into the new tree: a hard link (same inode,
// nothing copied, the old tree untouched), a copy where links are not
// supported, a new symlink for a symlink. copied says a new file was
// written (its data still needs to reach the disk).
func carry(from, to string) (copied bool, err error) {
	fi, err := os.Lstat(from)
	if err != nil {
		return false, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(from)
		if err != nil {
			return false, err
		}
		return false, os.Symlink(target, to)
	case fi.Mode().IsRegular():
		if os.Link(from, to) == nil {
			return false, nil
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return false, err
		}
		return true, writeFile(to, b, fi.Mode().Perm())
	}
	return false, fmt.Errorf("%s is neither a file nor a symlink", from)
}

// writeFile creates a new file without syncing it: syncTree makes the
// whole new tree durable at once before the swap.
func writeFile(name string, b []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncTree makes the new tree at root durable before it is swapped in.
//
// Crash guarantee: the swap (one rename in the parent directory) is
// ordered after this call returns, and the parent is fsynced only after
// the swap. Whatever reached the disk before a crash, the name outDir
// therefore points either at the previous tree or at a new tree whose
// every file and directory entry was already on disk.
//
// Where the kernel has syncfs(2) (Linux), one call flushes the data and
// metadata of every file and directory of the file system holding root:
// the tree is built in a fresh directory beside outDir, so all of it is on
// that one file system (hard links cannot cross file systems, and nothing
// is mounted inside a directory Vigil just created). That is the same
// guarantee as an fsync per file and directory, in one system call instead
// of ~400 for prod. Since Linux 5.8 syncfs also reports writeback errors on
// that file system. Elsewhere, or when syncfs fails as unsupported, every
// file written here and every directory is fsynced, as before; linked
// files were already durable in the previous tree.
func syncTree(root string, files []string, dirs map[string]bool) error {
	err := syncFS(root)
	if err == nil {
		return nil
	}
	if !errors.Is(err, errSyncfsUnsupported) {
		return err
	}
	for _, p := range files {
		if err := fsyncPath(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			return err
		}
	}
	return syncDirs(root, dirs)
}

// errSyncfsUnsupported says the platform cannot sync a whole file system
// by one open file.
var errSyncfsUnsupported = errors.New("syncfs not supported")

// syncFS is syncfsOf, a variable so that tests can take the per-file path.
var syncFS = syncfsOf

// fsyncPath is syncPath, a variable so that tests can count the calls.
var fsyncPath = syncPath

// syncPath fsyncs one file or directory.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(d string) error { return fsyncPath(d) }

func syncDirs(root string, dirs map[string]bool) error {
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		if err := syncDir(filepath.Join(root, filepath.FromSlash(d))); err != nil {
			return err
		}
	}
	return nil
}

func manifest(t *Tree) []byte {
	var b bytes.Buffer
	b.WriteString(manifestVersion + "\n")
	b.WriteString("# Files written by vigil. Vigil removes the ones it stops producing and leaves any other file alone.\n")
	for _, p := range t.Paths() {
		b.WriteString(p + "\n")
	}
	return b.Bytes()
}

func parseManifest(b []byte) ([]string, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || sc.Text() != manifestVersion {
		return nil, fmt.Errorf("not a %q manifest (written by another Vigil version?)", manifestVersion)
	}
	var out []string
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if l != path.Clean(l) || path.IsAbs(l) || l == ".." || strings.HasPrefix(l, "../") {
			return nil, fmt.Errorf("invalid path %q", l)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// errExchangeUnsupported says the platform or file system cannot exchange
// two directories in one step.
var errExchangeUnsupported = errors.New("atomic exchange not supported")

// exchangeDirs swaps two directories atomically; a variable so that tests
// can take the fallback path.
var exchangeDirs = exchange

// swapIn puts the new tree at dir and returns where the previous tree went
// (to be removed), or "" if there was none.
func swapIn(tmp, dir string, exists bool) (string, error) {
	if !exists {
		if err := renameNoReplace(tmp, dir); err != nil {
			return "", fmt.Errorf("moving the new tree in place: %w", err)
		}
		return "", nil
	}
	err := exchangeDirs(tmp, dir)
	if err == nil {
		return tmp, nil // the old tree is now at tmp
	}
	if !errors.Is(err, errExchangeUnsupported) {
		return "", fmt.Errorf("swapping the new tree in: %w", err)
	}
	// Two renames: readers may find no directory for an instant, and a
	// crash in between leaves the previous tree at aside.
	aside, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".vigil-old-")
	if err != nil {
		return "", err
	}
	if err := os.Remove(aside); err != nil {
		return "", err
	}
	if err := os.Rename(dir, aside); err != nil {
		return "", fmt.Errorf("moving the previous tree aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(aside, dir); rerr != nil {
			return "", fmt.Errorf("moving the new tree in place: %w (and restoring the previous tree from %s failed: %v)", err, aside, rerr)
		}
		return "", fmt.Errorf("moving the new tree in place: %w", err)
	}
	return aside, nil
}

// renameIfMissing is renameNoReplace where the kernel cannot check: it
// checks first, leaving a short race with another writer.
func renameIfMissing(a, b string) error {
	if _, err := os.Lstat(b); err == nil {
		return &os.LinkError{Op: "rename", Old: a, New: b, Err: fs.ErrExist}
	}
	return os.Rename(a, b)
}
