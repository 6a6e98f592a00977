package overlays

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
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
//
// Write is a Writer given the whole tree as one part.
func Write(ctx context.Context, tree *Tree, outDir string, opts ...WriteOption) (*WriteReport, error) {
	if tree == nil {
		return nil, fmt.Errorf("write %s: no tree", outDir)
	}
	w, err := NewWriter(ctx, outDir, opts...)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	if err := w.Add(tree); err != nil {
		return nil, err
	}
	return w.Commit()
}

// A Writer writes a tree into an output directory part by part, with every
// guarantee of Write: a fleet's renderer hands it each environment's files
// as soon as they are verified and drops them, so memory does not grow with
// the fleet (see the package doc, Streaming). Only the paths, and the
// shared files outside envs/ and clusters/ (the bases, which every
// environment's kustomizations read), stay in memory.
//
// Parts must not overlap, and the shared files must come before (or with)
// the environments that read them: each environment is classified against
// the previous tree when its part arrives. Nothing reaches outDir before
// Commit; Abort, or any error, leaves it as it was. A Writer holds the
// output directory's lock from NewWriter until Commit or Abort, and is not
// safe for concurrent use.
type Writer struct {
	ctx  context.Context
	o    writeOptions
	dir  string
	prev *previous
	// unlock releases the lock on the parent; nil once released.
	unlock func()
	// prevEnvs lists the previous tree's owned files under envs/<env>/ by
	// environment, to read one environment's old files on its arrival.
	prevEnvs map[string][]string
	// state is every file added so far, by path.
	state map[string]fileState
	// newDirs are the directories of the files added so far: a later
	// file at one of these paths, or a directory at a file's path, clashes.
	newDirs map[string]bool
	// shared and oldShared are the new and previous files outside envs/
	// and clusters/; oldShared is read on first use.
	shared, oldShared map[string][]byte
	envsAdded         map[string]bool
	// tmp is the new tree being built beside dir; "" while every file
	// added is the one already on disk (no copy of an unchanged tree is
	// ever built). dirs are the directories made in tmp; written the
	// files created there (not linked), which syncTree's per-file
	// fallback must fsync.
	tmp     string
	dirs    map[string]bool
	written []string
	objects []ObjectChange
	notes   []string
	done    bool
}

// fileState is what a file added to a Writer is, against the previous tree.
type fileState uint8

const (
	fileAdded fileState = iota
	fileChanged
	// fileRewritten has the same bytes but another mode than Write gives
	// its files: unchanged, but written anew.
	fileRewritten
	// fileLinked has the same bytes and mode: it is linked, not
	// written, into the new tree.
	fileLinked
)

// NewWriter locks outDir's parent (waiting for another render there, up to
// a limit) and reads what outDir holds; nothing is written yet.
func NewWriter(ctx context.Context, outDir string, opts ...WriteOption) (*Writer, error) {
	w := &Writer{ctx: ctx, state: map[string]fileState{}, newDirs: map[string]bool{},
		shared: map[string][]byte{}, envsAdded: map[string]bool{}, prevEnvs: map[string][]string{}}
	for _, opt := range opts {
		opt(&w.o)
	}
	dir, err := resolveDir(outDir)
	if err != nil {
		return nil, err
	}
	w.dir = dir
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	// The new tree is built beside dir and swapped in, so the lock is on
	// the parent: it outlives the swap, and it covers the leftovers.
	if w.unlock, err = lockParent(ctx, parent, dir); err != nil {
		return nil, err
	}
	if err := removeLeftovers(parent, filepath.Base(dir)); err != nil {
		w.Abort()
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	if w.prev, err = readPrevious(dir); err != nil {
		w.Abort()
		return nil, err
	}
	for _, p := range w.prev.owned {
		if env, ok := envOfPath(p); ok {
			w.prevEnvs[env] = append(w.prevEnvs[env], p)
		}
	}
	return w, nil
}

// envOfPath names the environment whose overlay directory holds p.
func envOfPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "envs/")
	if !ok {
		return "", false
	}
	env, _, ok := strings.Cut(rest, "/")
	return env, ok && env != ""
}

// perEnvironment reports whether p belongs to one environment alone.
func perEnvironment(p string) bool {
	return strings.HasPrefix(p, "envs/") || strings.HasPrefix(p, "clusters/")
}

// Add writes part's files into the new tree, after checking its paths
// against the parts added before and against the files outDir holds that
// Vigil did not write, and classifies the object changes of the
// environments it holds.
//
// After an error the Writer is closed, as by Abort: a tree missing a part
// must never be committed.
func (w *Writer) Add(part *Tree) error {
	if err := w.add(part); err != nil {
		w.Abort()
		return err
	}
	return nil
}

func (w *Writer) add(part *Tree) error {
	if w.done {
		return fmt.Errorf("write %s: the writer is closed", w.dir)
	}
	if err := part.checkPaths(); err != nil {
		return fmt.Errorf("write %s: %w", w.dir, err)
	}
	paths := part.Paths()
	for _, p := range paths {
		if _, dup := w.state[p]; dup {
			return fmt.Errorf("write %s: two files at %s (a Vigil bug)", w.dir, p)
		}
		if w.newDirs[p] {
			return fmt.Errorf("write %s: tree path %s is both a file and a directory", w.dir, p)
		}
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, clash := w.state[d]; clash {
				return fmt.Errorf("write %s: tree path %s is both a file and a directory", w.dir, d)
			}
		}
	}
	if err := w.prev.conflicts(part); err != nil {
		return fmt.Errorf("write %s: %w: %w", w.dir, ErrRefused, err)
	}
	for _, p := range paths {
		if !perEnvironment(p) {
			w.shared[p] = part.files[p]
		}
	}
	old, err := w.oldFilesFor(paths)
	if err != nil {
		return err
	}
	// A change Flux would fail on forever must stop here, before the
	// tree reaches Git, not on the cluster (refused in Commit, once every
	// environment is classified).
	if err := w.classify(old, part.files, paths); err != nil {
		return err
	}
	for _, p := range paths {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("write %s: %w", w.dir, err)
		}
		content := part.files[p]
		prevContent, existed := old[p]
		st := fileAdded
		switch {
		case !existed:
		case !bytes.Equal(prevContent, content):
			st = fileChanged
		case w.prev.linkable(p):
			st = fileLinked
		default:
			st = fileRewritten
		}
		if st != fileLinked && w.tmp == "" {
			if err := w.materialize(); err != nil {
				return err
			}
		}
		w.state[p] = st
		for d := path.Dir(p); d != "." && !w.newDirs[d]; d = path.Dir(d) {
			w.newDirs[d] = true
		}
		if w.tmp != "" {
			if err := w.place(p, content, st == fileLinked); err != nil {
				return err
			}
		}
	}
	return nil
}

// oldFilesFor reads the previous files a part needs: its own, the shared
// ones, and every old file of the environments it holds (their
// kustomizations are built on both sides).
func (w *Writer) oldFilesFor(paths []string) (map[string][]byte, error) {
	if w.oldShared == nil {
		w.oldShared = map[string][]byte{}
		for _, p := range w.prev.owned {
			if !perEnvironment(p) {
				if b, ok := w.prev.content(p); ok {
					w.oldShared[p] = b
				}
			}
		}
	}
	old := make(map[string][]byte, len(w.oldShared)+len(paths))
	for p, b := range w.oldShared {
		old[p] = b
	}
	read := func(p string) {
		if _, done := old[p]; done {
			return
		}
		if b, ok := w.prev.content(p); ok && w.prev.ownedSet[p] {
			old[p] = b
		}
	}
	for _, p := range paths {
		if env, ok := envOfPath(p); ok && !w.envsAdded[env] {
			w.envsAdded[env] = true
			for _, q := range w.prevEnvs[env] {
				read(q)
			}
		}
		read(p)
	}
	return old, w.ctx.Err()
}

// classify labels the object changes of the environments a part holds;
// new is the part's files, to which the shared files are added.
func (w *Writer) classify(old, part map[string][]byte, paths []string) error {
	if !slices.ContainsFunc(paths, func(p string) bool { _, ok := envOfPath(p); return ok }) {
		return nil
	}
	files := make(map[string][]byte, len(w.shared)+len(part))
	for p, b := range w.shared {
		files[p] = b
	}
	for p, b := range part {
		files[p] = b
	}
	objects, notes, err := classify(old, &Tree{files: files}, !w.o.quietAdditions)
	if err != nil {
		return fmt.Errorf("write %s: %w", w.dir, err)
	}
	w.objects = append(w.objects, objects...)
	w.notes = append(w.notes, notes...)
	return nil
}

// materialize starts the new tree beside dir, linking into it every file
// added so far: all of them are linkable files already on disk.
func (w *Writer) materialize() error {
	tmp, err := os.MkdirTemp(filepath.Dir(w.dir), "."+filepath.Base(w.dir)+".vigil-new-")
	if err != nil {
		return fmt.Errorf("write %s: %w", w.dir, err)
	}
	w.tmp, w.dirs = tmp, map[string]bool{".": true}
	if err := os.Chmod(tmp, w.prev.mode); err != nil {
		return fmt.Errorf("write %s: %w", w.dir, err)
	}
	for _, p := range slices.Sorted(maps.Keys(w.state)) {
		if err := w.place(p, nil, true); err != nil {
			return err
		}
	}
	return nil
}

// place puts one file into the new tree: a hard link to the previous
// tree's file when it is unchanged (already on disk, and the link makes the
// new tree share it without rewriting it), else the content.
func (w *Writer) place(p string, content []byte, linked bool) error {
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("write %s: %w", w.dir, err)
	}
	if err := makeParents(w.tmp, p, w.dirs, w.prev); err != nil {
		return fmt.Errorf("write %s: %w", w.dir, err)
	}
	to := filepath.Join(w.tmp, filepath.FromSlash(p))
	if !linked || os.Link(filepath.Join(w.dir, filepath.FromSlash(p)), to) != nil {
		if linked {
			// No hard links here: copy the bytes already on disk.
			b, ok := w.prev.content(p)
			if !ok {
				return fmt.Errorf("write %s: %s changed while being written", w.dir, p)
			}
			content = b
		}
		if err := writeFile(to, content, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", w.dir, err)
		}
		w.written = append(w.written, p)
	}
	if err := hook("file", p); err != nil {
		return fmt.Errorf("write %s: %w", w.dir, err)
	}
	return nil
}

// Commit refuses the tree if it changes immutable fields Vigil will not
// let Flux recreate (unless Migrated), else removes the files Vigil no
// longer produces, carries the foreign ones over, makes the new tree
// durable and swaps it in. The Writer is closed either way.
func (w *Writer) Commit() (*WriteReport, error) {
	if w.done {
		return nil, fmt.Errorf("write %s: the writer is closed", w.dir)
	}
	defer w.Abort()
	// Environments the previous tree held and this one does not: their
	// objects are all removed.
	for _, env := range slices.Sorted(maps.Keys(w.prevEnvs)) {
		if w.envsAdded[env] {
			continue
		}
		old, err := w.oldFilesFor(w.prevEnvs[env])
		if err != nil {
			return nil, err
		}
		if err := w.classify(old, nil, w.prevEnvs[env]); err != nil {
			return nil, err
		}
	}
	// Parts arrive in any order; each environment was classified once,
	// in one piece, so sorting by environment restores Classify's order.
	slices.SortStableFunc(w.objects, func(a, b ObjectChange) int { return strings.Compare(a.Environment, b.Environment) })
	sort.Strings(w.notes)
	if refused := Refused(w.objects); len(refused) > 0 && !w.o.migrated {
		return nil, fmt.Errorf("write %s: %w", w.dir, &ImmutableError{Refused: refused})
	}

	report := &WriteReport{Dir: w.dir, Foreign: w.prev.foreign, Objects: w.objects, Notes: w.notes}
	report.Written = slices.Sorted(maps.Keys(w.state))
	for _, p := range report.Written {
		switch w.state[p] {
		case fileAdded:
			report.Added = append(report.Added, p)
		case fileChanged:
			report.Changed = append(report.Changed, p)
		default:
			report.Unchanged = append(report.Unchanged, p)
		}
	}
	for _, p := range w.prev.owned {
		if _, ok := w.state[p]; !ok {
			report.Removed = append(report.Removed, p)
		}
	}
	manifest := manifestOf(report.Written)
	if w.tmp == "" && w.prev.exists && len(report.Removed) == 0 && bytes.Equal(w.prev.manifest, manifest) {
		// The tree on disk is this tree, byte for byte and mode for
		// mode: building a copy of it to swap in (a directory per unit,
		// a link per file) was most of an unchanged fleet's render.
		return report, nil
	}
	if w.tmp == "" {
		if err := w.materialize(); err != nil {
			return nil, err
		}
	}
	for _, d := range w.prev.foreignDirs {
		if err := makeParents(w.tmp, path.Join(d, "x"), w.dirs, w.prev); err != nil {
			return nil, fmt.Errorf("write %s: %w", w.dir, err)
		}
	}
	for _, p := range w.prev.foreign {
		if err := makeParents(w.tmp, p, w.dirs, w.prev); err != nil {
			return nil, fmt.Errorf("write %s: %w", w.dir, err)
		}
		copied, err := carry(filepath.Join(w.dir, filepath.FromSlash(p)), filepath.Join(w.tmp, filepath.FromSlash(p)))
		if err != nil {
			return nil, fmt.Errorf("write %s: keeping foreign file %s: %w", w.dir, p, err)
		}
		if copied {
			w.written = append(w.written, p)
		}
		if err := hook("foreign", p); err != nil {
			return nil, fmt.Errorf("write %s: %w", w.dir, err)
		}
	}
	if err := writeFile(filepath.Join(w.tmp, ManifestName), manifest, 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", w.dir, err)
	}
	w.written = append(w.written, ManifestName)
	if err := syncTree(w.tmp, w.written, w.dirs); err != nil {
		return nil, fmt.Errorf("write %s: making the new tree durable: %w", w.dir, err)
	}
	if err := hook("swap", ""); err != nil {
		return nil, fmt.Errorf("write %s: %w", w.dir, err)
	}
	old, err := swapIn(w.tmp, w.dir, w.prev.exists)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", w.dir, err)
	}
	w.tmp = "" // swapped in: nothing to clean up but the old tree
	if err := syncDir(filepath.Dir(w.dir)); err != nil {
		return report, fmt.Errorf("write %s: tree in place but not synced: %w", w.dir, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return report, fmt.Errorf("write %s: tree in place, but removing the previous one at %s failed: %w", w.dir, old, err)
		}
	}
	return report, nil
}

// Abort drops whatever was built beside the output directory and releases
// its lock; the directory is as it was. After Commit it does nothing.
func (w *Writer) Abort() {
	w.done = true
	if w.tmp != "" {
		os.RemoveAll(w.tmp)
		w.tmp = ""
	}
	if w.unlock != nil {
		w.unlock()
		w.unlock = nil
	}
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
	// owned are the files the manifest lists (whether or not present);
	// ownedSet holds the same paths.
	owned    []string
	ownedSet map[string]bool
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
	prev.ownedSet = owned
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

// manifestOf is the manifest listing paths, which are sorted.
func manifestOf(paths []string) []byte {
	var b bytes.Buffer
	b.WriteString(manifestVersion + "\n")
	b.WriteString("# Files written by vigil. Vigil removes the ones it stops producing and leaves any other file alone.\n")
	for _, p := range paths {
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
