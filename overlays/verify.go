package overlays

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// VerificationError reports kustomizations of a rendered tree that do not
// build into the objects they were rendered from. It is always a Vigil bug:
// the tree is not written.
type VerificationError struct {
	// Problems holds one entry per failed build or differing object,
	// naming the directory and the object, with a -want +got diff.
	Problems []string
}

func (e *VerificationError) Error() string {
	return "rendered tree does not build back into the generated objects (a Vigil bug):\n" + strings.Join(e.Problems, "\n")
}

// warmSchema makes sure kyaml's global OpenAPI schema is parsed before
// builds run in parallel: the parse is the one step of a build that writes
// shared state, and kyaml reads the result without a lock. It is cheap once
// parsed, and it runs every time because other code (Flux's kustomize
// wrapper, for one) resets the schema. Such code must not run while Compile
// does.
func warmSchema() { _ = openapi.Schema() }

// verify builds every kustomization of the tree on GOMAXPROCS workers and
// compares the results with the rendered objects. The biggest builds start
// first so that no worker is left with a long one at the end; problems are
// reported in tree order whatever the scheduling.
func (r *rendered) verify(ctx context.Context) error {
	warmSchema()
	problems := make([][]string, len(r.checks))
	order := make([]int, len(r.checks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(r.checks[order[a]].files) > len(r.checks[order[b]].files) })
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(1, runtime.GOMAXPROCS(0)), len(order)) {
		wg.Go(func() {
			for {
				n := int(next.Add(1)) - 1
				if n >= len(order) || ctx.Err() != nil {
					return
				}
				i := order[n]
				problems[i] = r.checkOnce(r.checks[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("verifying rendered tree: %w", err)
	}
	var all []string
	for _, p := range problems {
		all = append(all, p...)
	}
	if len(all) > 0 {
		return &VerificationError{Problems: all}
	}
	return nil
}

// verifiedBases holds the keys (baseKey) of base builds that passed in
// this process. Base directories depend only on Vigil's embedded default
// environment, so a process rendering many times (a fleet, a watch, the
// tests) builds each base once instead of once per render. The key covers
// every input of the check, so a base that differs in any byte, or that
// must build into different objects, is built again.
var verifiedBases sync.Map

// memoBases is false in tests that must build every base themselves.
var memoBases = true

// VerifiedChecks remembers, across renders, the kustomizations of
// environments whose build was verified, by a key that covers every input
// of the check (checkKey: the directory, the bytes of every file the build
// reads, the objects it must yield). A unit whose files did not change
// since a verified render is then not built again: in a render of one
// changed environment that is every unit but the few the change touched.
// A fleet renderer backs it with its render cache, whose keys add the
// binary's identity (kustomize's behaviour). Safe for concurrent use.
type VerifiedChecks interface {
	Verified(key [sha256.Size]byte) bool
	Remember(key [sha256.Size]byte)
}

// RememberVerified makes Batch skip the environment checks m holds and
// record those that pass. Failures are never recorded.
func (c *Compiler) RememberVerified(m VerifiedChecks) { c.verified = m }

// checkOnce is check, skipped for a base whose identical check already
// passed in this process, or for an environment's kustomization r.verified
// holds; failures are never remembered.
func (r *rendered) checkOnce(c buildCheck) []string {
	base := strings.HasPrefix(c.dir, "base/")
	if (base && !memoBases) || (!base && r.verified == nil) {
		return r.check(c)
	}
	k, ok := r.checkKey(c)
	if !ok {
		return r.check(c)
	}
	if base {
		if _, done := verifiedBases.Load(k); done {
			return nil
		}
	} else if r.verified.Verified(k) {
		return nil
	}
	problems := r.check(c)
	if len(problems) == 0 {
		if base {
			verifiedBases.Store(k, struct{}{})
		} else {
			r.verified.Remember(k)
		}
	}
	return problems
}

// checkKey hashes everything a check depends on: its directory, the
// files the build reads and the objects it must yield. ok is false if an
// object cannot be encoded (the check then simply runs).
func (r *rendered) checkKey(c buildCheck) (k [sha256.Size]byte, ok bool) {
	h := sha256.New()
	fmt.Fprintf(h, "%q\n", c.dir)
	for _, p := range c.files {
		b := r.tree.files[p]
		fmt.Fprintf(h, "%q %d\n", p, len(b))
		h.Write(b)
	}
	for _, w := range c.want {
		b, err := json.Marshal(w.m) // map keys sorted: deterministic
		if err != nil {
			return k, false
		}
		fmt.Fprintf(h, "%q %d\n", w.component, len(b))
		h.Write(b)
	}
	copy(k[:], h.Sum(nil))
	return k, true
}

// check builds one kustomization over an in-memory file system holding only
// the files the build should need.
func (r *rendered) check(c buildCheck) []string {
	fs := filesys.MakeFsInMemory()
	for _, p := range c.files {
		if err := fs.WriteFile("/"+p, r.tree.files[p]); err != nil {
			return []string{fmt.Sprintf("%s (%s): staging %s: %v", c.dir, c.what, p, err)}
		}
	}
	got, err := build(fs, "/"+c.dir)
	if err != nil {
		return []string{fmt.Sprintf("%s (%s): kustomize build: %v", c.dir, c.what, err)}
	}
	return compare(c.dir+" ("+c.what+")", c.want, got)
}

// build runs kustomize the way kubectl does by default (files may not be
// loaded from outside a kustomization's root) and decodes the result.
func build(fs filesys.FileSystem, dir string) ([]*object, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		return nil, err
	}
	var out []*object
	for _, res := range m.Resources() {
		obj, err := decodeResource(res)
		if err != nil {
			return nil, err
		}
		out = append(out, &object{key: keyOf(obj), m: obj})
	}
	return out, nil
}

var numbers = cmp.Comparer(equalNumbers)

// compare matches built objects to the wanted ones by identity and diffs
// each pair; where names the build for messages.
func compare(where string, want, got []*object) []string {
	var problems []string
	gotBy := map[objKey]*object{}
	for _, o := range got {
		if _, dup := gotBy[o.key]; dup {
			problems = append(problems, fmt.Sprintf("%s: %s built twice", where, o.key))
		}
		gotBy[o.key] = o
	}
	wantKeys := map[objKey]bool{}
	for _, w := range want {
		wantKeys[w.key] = true
		g := gotBy[w.key]
		switch {
		case g == nil:
			problems = append(problems, fmt.Sprintf("%s: %s (component %s) is missing from the build", where, w.key, w.component))
		case !equalJSON(w.m, g.m):
			problems = append(problems, fmt.Sprintf("%s: %s (component %s) differs (-want +got):\n%s",
				where, w.key, w.component, cmp.Diff(w.m, g.m, numbers)))
		}
	}
	var extra []objKey
	for k := range gotBy {
		if !wantKeys[k] {
			extra = append(extra, k)
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].less(extra[j]) })
	for _, k := range extra {
		problems = append(problems, fmt.Sprintf("%s: %s is in the build but was not generated", where, k))
	}
	return problems
}
