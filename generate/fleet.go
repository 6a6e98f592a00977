package generate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-stack/vigil/generate/cache"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/overlays"
)

// FleetOptions configures RenderFleet.
type FleetOptions struct {
	// Cache holds rendered environments by their inputs; nil renders
	// everything.
	Cache *cache.Cache
	// Shard selects a deterministic subset of the sources; the zero
	// value selects all of them.
	Shard Shard
	// Workers bounds how many environments are in flight (loaded,
	// generated, compiled and verified) at once, and with it memory;
	// 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called once per environment as it finishes
	// (never concurrently), with how many of total are done.
	Progress func(e *FleetEnv, done, total int)
	// Options add a platform's components and transforms, as Render's.
	// The cache keys on the binary, not on what a closure captured, so a
	// render with components or transforms bypasses the cache.
	Options []Option
	// Sink, if set, receives the verified tree part by part instead of
	// Fleet.Tree holding all of it: the bases first, then each
	// environment's files as soon as they exist, which RenderFleet then
	// drops. Give it an *overlays.Writer and memory does not grow with the
	// fleet. On an error the sink holds a part of the tree: abort it.
	Sink Sink
}

// Sink receives a tree in parts that do not overlap (*overlays.Writer,
// *overlays.Tree). RenderFleet calls it from one goroutine at a time.
type Sink interface {
	Add(part *overlays.Tree) error
}

// Shard is the K-th of N shards (1 ≤ K ≤ N); N == 0 means no sharding.
type Shard struct{ K, N int }

// ParseShard parses "K/N".
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("--shard %q: want K/N with 1 ≤ K ≤ N, such as 2/4", s)
	}
	return Shard{K: ki, N: ni}, nil
}

// Has reports whether the source belongs to the shard. A source's shard
// is a hash of its cleaned directory, so it depends neither on the order
// of the arguments nor on the other environments: adding one to a fleet
// moves no other between shards.
func (s Shard) Has(src Source) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(filepath.ToSlash(filepath.Clean(src.Dir))))
	return int(h.Sum32()%uint32(s.N)) == s.K-1
}

// Phases are the wall times of one environment's render.
type Phases struct {
	// Read is reading and hashing its input files, Cache looking the
	// result up and storing it.
	Read, Cache time.Duration
	// Load is CUE loading and Vigil's checks, Generate the generators,
	// Compile rendering and verifying its overlays; all zero when cached.
	Load, Generate, Compile time.Duration
}

// Total is the sum of the phases.
func (p Phases) Total() time.Duration { return p.Read + p.Cache + p.Load + p.Generate + p.Compile }

// FleetEnv is one rendered environment.
type FleetEnv struct {
	Source Source
	Name   string
	// Cached says the environment came from the cache: it was neither
	// loaded, generated nor verified.
	Cached bool
	// Layers counts its objects per layer.
	Layers map[stack.Layer]int
	// Warnings are the loader's advice, as Environment.Warnings.
	Warnings Diagnostics
	Phases   Phases
}

// Fleet is the result of RenderFleet.
type Fleet struct {
	// Tree is the verified tree: the bases and every selected
	// environment, byte-identical to Render's; nil when FleetOptions.Sink
	// received it.
	Tree *overlays.Tree
	// Envs are the selected environments in the order of the sources.
	Envs []*FleetEnv
	// Cached counts the environments that came from the cache.
	Cached int
	// Bases is the time spent producing the bases (zero when cached).
	Bases time.Duration
}

// envEntry is what the cache keeps for an environment: everything a later
// render needs from it without loading it.
type envEntry struct {
	Name, Cluster string
	// Spec is a hash of the environment's decoded value: CheckClusters
	// allows two sources on one cluster only when their values are equal.
	Spec     [sha256.Size]byte
	Warnings Diagnostics
	Layers   map[stack.Layer]int
	// Files are the environment's own directories (envs/<name>/,
	// clusters/<name>/), verified.
	Files map[string][]byte
	// SOPS hashes the encrypted manifests the environment ships, by path
	// relative to its directory. Their paths come from the environment's
	// values, so they cannot be part of the key (computed before loading);
	// a hit is used only while every one of them is unchanged.
	SOPS map[string][sha256.Size]byte
}

// baseEntry is the verified bases, which depend on the binary alone.
type baseEntry struct {
	Files map[string][]byte
}

// RenderFleet renders the sources like Render, with the same bytes, but
// for fleets: each environment goes through load, generate, compile and
// verify on its own, at most Workers at a time, and only its files are kept
// (see overlays' doc, Streaming); an environment whose inputs a previous
// render already saw comes from the cache without being loaded; and a
// shard renders only its part of the sources, with the full bases.
func RenderFleet(ctx context.Context, sources []Source, opts FleetOptions) (*Fleet, error) {
	if len(sources) == 0 {
		return nil, errors.New("no environment to render")
	}
	var selected []Source
	for _, s := range sources {
		if opts.Shard.Has(s) {
			selected = append(selected, s)
		}
	}
	o, err := newOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	id := binaryID()
	c := opts.Cache
	if id == nil || o.extends() {
		c = nil
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	f := &fleetRender{ctx: ctx, cache: c, id: id, opts: o}
	f.baseKey = f.key("base")

	out := &Fleet{Envs: make([]*FleetEnv, len(selected))}
	sink := opts.Sink
	if sink == nil {
		out.Tree = overlays.NewTree(nil)
		sink = out.Tree
	}
	entries := make([]*envEntry, len(selected))
	errs := make([]error, len(selected))
	var mu sync.Mutex
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	// The bases go to the sink first (it classifies each environment
	// against them); they are generated while the first environments load.
	basesAdded := make(chan struct{})
	g.SetLimit(workers + 1)
	g.Go(func() error {
		start := time.Now()
		bases, built, err := f.bases()
		if err != nil {
			return err
		}
		if built {
			out.Bases = time.Since(start)
		}
		mu.Lock()
		defer mu.Unlock()
		if err := sink.Add(overlays.NewTree(bases)); err != nil {
			return fmt.Errorf("%w: %w", errFleet, err)
		}
		close(basesAdded)
		return nil
	})
	names := map[string]bool{}
	for i, src := range selected {
		g.Go(func() error {
			e, entry, err := f.one(gctx, src)
			if err != nil {
				if errors.Is(err, errFleet) {
					return err // not the environment's fault: stop
				}
				errs[i] = err
				return nil
			}
			select {
			case <-basesAdded:
			case <-gctx.Done():
				return gctx.Err()
			}
			mu.Lock()
			defer mu.Unlock()
			// Two environments of one name are refused below, with
			// both sources named; only the first reaches the sink.
			if !names[entry.Name] {
				names[entry.Name] = true
				if err := sink.Add(overlays.NewTree(entry.Files)); err != nil {
					return fmt.Errorf("%s: %w", src, err)
				}
			}
			entry.Files = nil // the sink has them now
			out.Envs[i], entries[i] = e, entry
			done++
			if opts.Progress != nil {
				opts.Progress(e, done, len(selected))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := errors.Join(loadErrors(errs)...); err != nil {
		return nil, err
	}
	if err := fleetClusters(ctx, selected, entries); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err // a refusal after loading (SOPS, flux), as Render
		}
	}
	first := map[string]int{}
	for i, e := range entries {
		if j, dup := first[e.Name]; dup {
			return nil, invalid(fmt.Errorf("two environments are named %q (%s and %s); names must be unique", e.Name, selected[j], selected[i]))
		}
		first[e.Name] = i
	}
	for _, e := range out.Envs {
		if e.Cached {
			out.Cached++
		}
	}
	return out, nil
}

// errFleet marks failures that are not an environment's: a broken base, an
// overlay compiler bug, cancellation.
var errFleet = errors.New("fleet render")

// loadErrors are the per-environment errors Render reports first: those of
// loading (SourceError).
func loadErrors(errs []error) []error {
	var out []error
	for _, err := range errs {
		var se *SourceError
		if errors.As(err, &se) {
			out = append(out, err)
		}
	}
	return out
}

// fleetClusters is CheckClusters over cached and loaded environments alike.
func fleetClusters(ctx context.Context, sources []Source, entries []*envEntry) error {
	first := map[string]int{}
	var problems []string
	for i, e := range entries {
		if e == nil {
			continue
		}
		j, seen := first[e.Cluster]
		if !seen {
			first[e.Cluster] = i
			continue
		}
		if entries[j].Spec == e.Spec {
			continue
		}
		problems = append(problems, clusterConflict(ctx, sources[i], sources[j], e.Name, entries[j].Name, e.Cluster))
	}
	return clusterProblems(problems)
}

// fleetRender is the state one RenderFleet shares between environments.
type fleetRender struct {
	ctx     context.Context
	cache   *cache.Cache
	id      []byte
	baseKey cache.Key
	opts    *options

	once     sync.Once
	compiler *overlays.Compiler
	baseErr  error

	cachedOnce  sync.Once
	cachedFiles map[string][]byte
}

// key hashes the binary's identity and parts, each length-prefixed.
func (f *fleetRender) key(parts ...string) cache.Key {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", len(f.id))
	h.Write(f.id)
	for _, p := range parts {
		fmt.Fprintf(h, "%d\n", len(p))
		h.Write([]byte(p))
	}
	var k cache.Key
	copy(k[:], h.Sum(nil))
	return k
}

// sourceKey hashes everything an environment's rendering depends on
// besides the binary: every file CUE sees of its package, the directories
// above it and the packages it imports, the module file, and the paths that
// appear in messages. The SOPS files an environment ships are checked on a
// hit instead (envEntry.SOPS).
func (f *fleetRender) sourceKey(req loadRequest) cache.Key {
	names := make([]string, 0, len(req.files))
	for n := range req.files {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := []string{"env", req.dir, req.display, req.root, req.cwd, req.module}
	if mod, err := readRegular(filepath.Join(req.root, "cue.mod"), "module.cue"); err == nil {
		parts = append(parts, "module.cue", string(mod))
	}
	for _, n := range names {
		parts = append(parts, n, string(req.files[n]))
	}
	return f.key(parts...)
}

// bases is the bases' files: from the cache, or generated, compiled and
// verified once per render (built).
func (f *fleetRender) bases() (files map[string][]byte, built bool, err error) {
	if cached := f.cachedBases(); cached != nil {
		return cached, false, nil
	}
	c, err := f.baseCompiler()
	if err != nil {
		return nil, false, err
	}
	return c.Bases().Files(), true, nil
}

// baseCompiler generates the base environment and verifies its bases,
// once. When the cache holds the bases, verified by this binary before,
// the Compiler is rebuilt from their files instead: neither generated nor
// verified again.
func (f *fleetRender) baseCompiler() (*overlays.Compiler, error) {
	f.once.Do(func() {
		go overlays.Warm()
		if cached := f.cachedBases(); cached != nil {
			if c, err := overlays.CompilerFromBases(cached); err == nil {
				c.RememberVerified(f)
				f.compiler = c
				return
			}
			// Bases this binary cannot rebuild a Compiler from are
			// not ones it rendered: generate them as if uncached.
		}
		b, err := BaseEnvironment(f.ctx)
		if err != nil {
			f.baseErr = err
			return
		}
		set, err := f.opts.build(b)
		if err != nil {
			f.baseErr = fmt.Errorf("base environment: %w", err)
			return
		}
		c, err := overlays.NewCompiler(set)
		if err != nil {
			f.baseErr = fmt.Errorf("compile overlays: %w", err)
			return
		}
		if f.cache != nil {
			c.RememberVerified(f)
		}
		files := c.Bases().Files()
		if cached := f.cachedBases(); cached == nil || !sameFiles(cached, files) {
			if err := c.VerifyBases(f.ctx); err != nil {
				f.baseErr = fmt.Errorf("compile overlays: %w", err)
				return
			}
			if err := checkTree(c.Bases()); err != nil {
				f.baseErr = err
				return
			}
			f.store(f.baseKey, baseEntry{Files: files})
		}
		f.compiler = c
	})
	if f.baseErr != nil {
		return nil, fmt.Errorf("%w: %w", errFleet, f.baseErr)
	}
	return f.compiler, nil
}

// cachedBases is the bases the cache held when the render started, or nil.
// The sink and the base Compiler both need them: they are read and decoded
// once, and shared read-only.
func (f *fleetRender) cachedBases() map[string][]byte {
	f.cachedOnce.Do(func() {
		if f.cache == nil {
			return
		}
		b, ok := f.cache.Get(f.baseKey)
		if !ok {
			return
		}
		var e baseEntry
		if gob.NewDecoder(bytes.NewReader(b)).Decode(&e) == nil && len(e.Files) > 0 {
			f.cachedFiles = e.Files
		}
	})
	return f.cachedFiles
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for p, x := range a {
		if y, ok := b[p]; !ok || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// Verified and Remember keep the environment kustomizations whose build
// was verified in the render cache (overlays.VerifiedChecks), keyed with
// the binary's identity like every entry.
func (f *fleetRender) Verified(k [sha256.Size]byte) bool {
	_, ok := f.cache.Get(f.key("verified", string(k[:])))
	return ok
}

func (f *fleetRender) Remember(k [sha256.Size]byte) {
	_ = f.cache.Put(f.key("verified", string(k[:])), nil) // see store
}

// store writes an entry; a cache that cannot be written only costs time
// on the next render, so errors are dropped.
func (f *fleetRender) store(k cache.Key, v any) {
	if f.cache == nil {
		return
	}
	var b bytes.Buffer
	if gob.NewEncoder(&b).Encode(v) == nil {
		_ = f.cache.Put(k, b.Bytes())
	}
}

// one renders one environment, or takes it from the cache.
func (f *fleetRender) one(ctx context.Context, src Source) (*FleetEnv, *envEntry, error) {
	fe := &FleetEnv{Source: src}
	t := time.Now()
	req, err := src.request()
	if err != nil {
		return nil, nil, &SourceError{Source: src.String(), Err: err}
	}
	var k cache.Key
	if f.cache != nil {
		k = f.sourceKey(req)
	}
	fe.Phases.Read = time.Since(t)
	if f.cache != nil {
		t = time.Now()
		b, ok := f.cache.Get(k)
		var e envEntry
		if ok && gob.NewDecoder(bytes.NewReader(b)).Decode(&e) == nil && e.Name != "" && sopsUnchanged(req.read, e.SOPS) {
			fe.Phases.Cache = time.Since(t)
			fe.Name, fe.Cached, fe.Layers, fe.Warnings = e.Name, true, e.Layers, e.Warnings
			return fe, &e, nil
		}
		fe.Phases.Cache = time.Since(t)
	}

	// A miss needs the bases: generate them while this environment loads
	// (once; later misses find them ready).
	go f.baseCompiler() // its error reaches the caller below
	t = time.Now()
	e, err := loadInstance(ctx, req)
	fe.Phases.Load = time.Since(t)
	if err != nil {
		return nil, nil, &SourceError{Source: src.String(), Err: err}
	}
	t = time.Now()
	set, err := f.opts.build(e)
	fe.Phases.Generate = time.Since(t)
	if err != nil {
		return nil, nil, &SourceError{Source: src.String(), Err: err}
	}
	flux, err := fluxOptions(e.Spec)
	if err != nil {
		return nil, nil, invalid(fmt.Errorf("%s: %w", src, err))
	}
	spec, err := json.Marshal(e.Spec)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", errFleet, src, err)
	}
	entry := &envEntry{Name: e.Spec.Name, Cluster: e.Spec.Cluster.Name, Spec: sha256.Sum256(spec), Warnings: e.Warnings, Layers: Layers(set)}
	for _, sf := range e.SecretFiles {
		if entry.SOPS == nil {
			entry.SOPS = map[string][sha256.Size]byte{}
		}
		entry.SOPS[sf.Path] = sha256.Sum256(sf.Data)
	}
	fe.Name, fe.Layers, fe.Warnings = entry.Name, entry.Layers, entry.Warnings

	c, err := f.baseCompiler()
	if err != nil {
		return nil, nil, err
	}
	t = time.Now()
	trees, err := c.Batch(ctx, []overlays.Environment{{Name: entry.Name, Objects: set, Flux: flux, Prerequisites: Prerequisites(e.Spec), SOPS: e.SOPS()}})
	fe.Phases.Compile = time.Since(t)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: compile overlays: %w", errFleet, err)
	}
	tree := trees[entry.Name]
	if err := checkTree(tree); err != nil {
		return nil, nil, err
	}
	entry.Files = tree.Files()
	if f.cache != nil {
		t = time.Now()
		f.store(k, entry)
		fe.Phases.Cache += time.Since(t)
	}
	return fe, entry, nil
}

// sopsUnchanged reports whether every SOPS file a cached environment
// shipped still has the bytes it had; a file gone or changed is a miss.
func sopsUnchanged(read readFile, files map[string][sha256.Size]byte) bool {
	for rel, sum := range files {
		b, err := read(rel)
		if err != nil || sha256.Sum256(b) != sum {
			return false
		}
	}
	return true
}
