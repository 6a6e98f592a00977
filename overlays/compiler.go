package overlays

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Compiler compiles environments one batch at a time against bases
// rendered once. Compile is NewCompiler, VerifyBases and one Batch of every
// environment; a fleet renderer calls Batch repeatedly, keeping only the
// files of each batch, so that the objects, patches and verification
// results of an environment are garbage once its batch is done and memory
// does not grow with the number of environments (see doc.go, Streaming).
type Compiler struct {
	base     *rendered
	index    map[string]*baseGroup
	verified VerifiedChecks
	trials   *trialMemo
}

// NewCompiler renders the bases from base, the Set of Vigil's default
// environment. Nothing is verified yet.
func NewCompiler(base *stack.Set) (*Compiler, error) {
	if base == nil {
		return nil, fmt.Errorf("no base object set")
	}
	baseObjs, err := collect(base, "base")
	if err != nil {
		return nil, err
	}
	return compilerOf(baseObjs, func(_, _ string, o *object) ([]byte, error) { return objectYAML(o) })
}

func compilerOf(baseObjs []*object, encode func(dir, file string, o *object) ([]byte, error)) (*Compiler, error) {
	r := &rendered{tree: &Tree{files: map[string][]byte{}}}
	groups, err := r.renderBases(baseObjs, encode)
	if err != nil {
		return nil, err
	}
	index := map[string]*baseGroup{}
	for _, g := range groups {
		index[g.dir] = g
	}
	return &Compiler{base: r, index: index, trials: newTrialMemo()}, nil
}

// CompilerFromBases rebuilds the Compiler whose Bases().Files() are files,
// reading the objects back from their YAML instead of generating and
// encoding Vigil's default environment again (about a tenth of a second of
// CPU, on the critical path of rendering one changed environment). The
// rebuilt bases must be byte for byte the files given, so files that one
// Compiler did not render are refused; they are trusted otherwise (a render
// cache keyed by the binary holds bases this binary rendered and verified)
// and VerifyBases builds them again if asked.
func CompilerFromBases(files map[string][]byte) (*Compiler, error) {
	var objs []*object
	from := map[*object]string{}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		dir, file := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		if file == "kustomization.yaml" {
			continue
		}
		parts := strings.Split(dir, "/")
		if len(parts) != 3 || parts[0] != "base" {
			return nil, fmt.Errorf("bases: %s is not in a base directory", p)
		}
		layer, err := stack.ParseLayer(parts[2])
		if err != nil {
			return nil, fmt.Errorf("bases: %s: %w", p, err)
		}
		m, err := decodeYAMLObject(files[p])
		if err != nil {
			return nil, fmt.Errorf("bases: %s: %w", p, err)
		}
		o := &object{component: parts[1], layer: layer, key: keyOf(m), m: m}
		objs = append(objs, o)
		from[o] = p
	}
	sort.Slice(objs, func(i, j int) bool { return objectLess(objs[i], objs[j]) })
	c, err := compilerOf(objs, func(dir, file string, o *object) ([]byte, error) {
		if p := path.Join(dir, file); p != from[o] {
			return nil, fmt.Errorf("%s is read from %s, but a Compiler writes it to %s", o.key, from[o], p)
		}
		return files[from[o]], nil
	})
	if err != nil {
		return nil, fmt.Errorf("bases: %w", err)
	}
	got := c.base.tree.files
	if len(got) != len(files) {
		return nil, fmt.Errorf("bases: %d files rebuild into %d", len(files), len(got))
	}
	for p, b := range got {
		if !bytes.Equal(b, files[p]) {
			return nil, fmt.Errorf("bases: %s does not rebuild into the same bytes", p)
		}
	}
	return c, nil
}

// Bases is the tree of the base directories alone: what every render
// writes whichever environments it is given.
func (c *Compiler) Bases() *Tree { return c.base.tree }

// BasesKey identifies the rendered bases: a hash of every base file, in
// path order. Two compilers with the same key have byte-identical bases
// that must build into the same objects, given the same Vigil binary.
func (c *Compiler) BasesKey() [sha256.Size]byte {
	h := sha256.New()
	for _, p := range c.base.tree.Paths() {
		b := c.base.tree.files[p]
		fmt.Fprintf(h, "%q %d\n", p, len(b))
		h.Write(b)
	}
	var k [sha256.Size]byte
	copy(k[:], h.Sum(nil))
	return k
}

// VerifyBases builds every base kustomization and compares it with the
// base objects (once per process for identical bases; see checkOnce).
func (c *Compiler) VerifyBases(ctx context.Context) error {
	warmSchema()
	return c.base.verify(ctx)
}

// Batch renders and verifies envs, each into a tree of its own holding
// only its directories (envs/<env>/ and clusters/<env>/), by environment
// name. It reads the bases and never changes them, so batches may follow
// each other on one Compiler; it does not verify the bases. Names must be
// unique within a batch; across batches the caller checks.
func (c *Compiler) Batch(ctx context.Context, envs []Environment) (map[string]*Tree, error) {
	warmSchema()
	if err := checkEnvironments(envs); err != nil {
		return nil, err
	}
	sorted := append([]Environment(nil), envs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	parts, err := c.renderEnvs(sorted)
	if err != nil {
		return nil, err
	}
	// Each part's checks read the bases and the part's own files.
	all := &rendered{tree: &Tree{files: map[string][]byte{}}, verified: c.verified}
	for p, b := range c.base.tree.files {
		all.tree.files[p] = b
	}
	out := make(map[string]*Tree, len(parts))
	for i, part := range parts {
		for p, b := range part.tree.files {
			if err := all.tree.put(p, b); err != nil {
				return nil, err
			}
		}
		all.checks = append(all.checks, part.checks...)
		out[sorted[i].Name] = part.tree
	}
	if err := all.verify(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// renderEnvs renders environments in parallel, each into a tree of its own
// that only reads the bases; results are in the order of envs, so nothing
// depends on scheduling.
func (c *Compiler) renderEnvs(envs []Environment) ([]*rendered, error) {
	parts := make([]*rendered, len(envs))
	errs := make([]error, len(envs))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, e := range envs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			part := &rendered{tree: &Tree{files: map[string][]byte{}}}
			if err := part.renderEnv(e, c.index, newPatcher(c.trials)); err != nil {
				errs[i] = fmt.Errorf("environment %s: %w", e.Name, err)
				return
			}
			parts[i] = part
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// NewTree makes a tree of files (slash-separated relative paths to
// contents), such as the per-environment trees of Batch kept in a cache.
// The map is copied; contents are not.
func NewTree(files map[string][]byte) *Tree {
	t := &Tree{files: make(map[string][]byte, len(files))}
	for p, b := range files {
		t.files[p] = b
	}
	return t
}

// Files returns the tree's files; the map is a copy, the contents are
// shared and must not be modified.
func (t *Tree) Files() map[string][]byte {
	out := make(map[string][]byte, len(t.files))
	for p, b := range t.files {
		out[p] = b
	}
	return out
}

// Add puts every file of other into t; a path both hold is an error (the
// trees of two environments, or of an environment and the bases, never
// overlap).
func (t *Tree) Add(other *Tree) error {
	for _, p := range other.Paths() {
		if err := t.put(p, other.files[p]); err != nil {
			return err
		}
	}
	return nil
}

// EnvironmentDirs are the top-level directories that belong to one
// environment, and to it alone, in a rendered tree.
func EnvironmentDirs(env string) []string {
	return []string{path.Join("envs", env), path.Join("clusters", env)}
}

// IsBasePath reports whether a tree path belongs to the bases, which every
// render writes identically.
func IsBasePath(p string) bool { return strings.HasPrefix(p, "base/") }
