package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/cache"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/overlays"
)

// Exit codes, as diff(1) does it: 1 means only "something differs", so a
// pipeline can tell a stale tree from broken input. Documented in gen --help
// and the README.
const (
	exitOK       = 0
	exitChanged  = 1 // gen diff: the tree on disk differs from a fresh render
	exitUsage    = 2 // gen was called wrongly
	exitInvalid  = 3 // an environment is invalid or refused; fix the input
	exitIO       = 4 // reading input or writing OUT failed, OUT refused or busy, interrupted
	exitInternal = 5 // a Vigil bug: valid input that Vigil failed to render
)

const exitCodesHelp = `Exit codes:
  0  success (for diff: the output directory is up to date)
  1  diff: the output directory differs from what render would write;
     prereqs --kubeconfig: a prerequisite is missing from the cluster
  2  usage error (unknown command or flag, missing argument, -o '')
  3  invalid input: an environment does not validate or is refused
  4  I/O: an input cannot be read, the output directory cannot be written,
     is not Vigil's, or another render holds its lock; or interrupted
  5  internal error: a bug in Vigil (please report it with the input)`

// defaultOutput is where render writes: the directory the schema's default
// flux.path ("./deploy") points at when committed at the repository root.
const defaultOutput = "deploy"

// usageError marks a mistake in how gen was called, as opposed to a
// problem in the environments it was given.
type usageError struct{ error }

// errChanged is gen diff's "something would change".
var errChanged = errors.New("the rendered tree differs from the output directory")

// reportedError is a failure whose details were already printed; only its
// summary is left to say.
type reportedError struct {
	summary string
	err     error
}

func (e *reportedError) Error() string { return e.summary }
func (e *reportedError) Unwrap() error { return e.err }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	switch code {
	case exitOK, exitChanged:
		if errors.Is(err, errMissing) {
			// What is missing is the answer; it names objects, never values.
			fmt.Fprintln(stderr, "gen:", err)
		}
		return code
	case exitInternal:
		fmt.Fprintln(stderr, "gen: internal error (a bug in Vigil; please report it with the input):", generate.Redact(err.Error()))
		return code
	}
	// Every message passes through the redactor: an error may quote input.
	fmt.Fprintln(stderr, "gen:", generate.Redact(err.Error()))
	if code == exitUsage {
		fmt.Fprintln(stderr, "Run 'gen --help' for usage.")
	}
	return code
}

// exitCode classifies an error; see exitCodesHelp.
func exitCode(err error) int {
	var u usageError
	var pathErr *fs.PathError
	var linkErr *os.LinkError
	var sysErr *os.SyscallError
	var errno syscall.Errno
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errChanged):
		return exitChanged
	case errors.Is(err, errMissing):
		return exitChanged
	case errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command"):
		return exitUsage
	case errors.Is(err, generate.ErrInvalid), errors.As(err, new(*overlays.ImmutableError)):
		return exitInvalid
	case errors.Is(err, overlays.ErrNotOwned), errors.Is(err, overlays.ErrLocked), errors.Is(err, overlays.ErrRefused),
		errors.Is(err, context.Canceled),
		errors.As(err, &pathErr), errors.As(err, &linkErr), errors.As(err, &sysErr), errors.As(err, &errno):
		return exitIO
	}
	return exitInternal
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "gen",
		Short: "Compile Vigil environments into kustomize overlays and Flux Kustomizations",
		Long: `gen turns directories of CUE that describe environments (dev, staging, prod, …)
into a kustomize tree for the whole monitoring and logging stack, and the Flux
Kustomizations that reconcile it in order. Every environment is checked against
the schema first; every mistake is reported at the line of CUE that caused it.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(initCommand(), validateCommand(), renderCommand(), mergeCommand(), diffCommand(), graphCommand(), imagesCommand(), prereqsCommand(), schemaCommand(), sizeCommand(), versionCommand())
	return root
}

// args wraps a cobra argument check so that its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if err := check(c, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate DIR...",
		Short: "Check environments against the schema and Vigil's rules",
		Example: `  gen validate environments/prod
  gen validate environments/*/`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(c *cobra.Command, dirs []string) error {
			var errs []error
			envs := make([]*generate.Environment, len(dirs))
			for i, dir := range dirs {
				e, err := generate.Load(c.Context(), dir)
				if err != nil {
					err = &generate.SourceError{Source: dir, Err: err}
					errs = append(errs, err)
					fmt.Fprintln(c.ErrOrStderr(), generate.Redact(err.Error()))
					continue
				}
				envs[i] = e
				for _, w := range e.Warnings {
					fmt.Fprintln(c.ErrOrStderr(), w)
				}
				fmt.Fprintf(c.OutOrStdout(), "%s: ok (%s)\n", dir, e.Spec.Name)
			}
			// Environments valid on their own may still collide on one cluster.
			if err := generate.CheckClusters(c.Context(), sources(dirs), envs); err != nil {
				fmt.Fprintln(c.ErrOrStderr(), generate.Redact(err.Error()))
				errs = append(errs, err)
				return &reportedError{"the environments given do not fit one cluster each", errors.Join(errs...)}
			}
			if len(errs) > 0 {
				return &reportedError{fmt.Sprintf("%d of %d environments are invalid", len(errs), len(dirs)), errors.Join(errs...)}
			}
			return nil
		},
	}
}

// sources turns the command line into render sources; no directory means
// the embedded example.
func sources(dirs []string) []generate.Source {
	if len(dirs) == 0 {
		return []generate.Source{{Dir: "environments/" + vigil.DefaultExample, FS: vigil.Examples}}
	}
	out := make([]generate.Source, len(dirs))
	for i, d := range dirs {
		out[i] = generate.Source{Dir: d}
	}
	return out
}

func renderCommand() *cobra.Command {
	var out, shard string
	var verbose, migrated, noCache bool
	c := &cobra.Command{
		Use:   "render [DIR...]",
		Short: "Render environments into a kustomize and Flux tree",
		Long: `render loads, validates and generates every environment concurrently, compiles
them into kustomize bases, per-environment overlays and Flux Kustomizations,
verifies that every overlay builds to exactly the generated objects, and
replaces the output directory atomically. Without DIR it renders the embedded
example environment "prod".

An environment whose inputs (its CUE files, those of the packages it imports,
the module file) and gen binary are those of an earlier render comes from the
render cache in the user's cache directory (vigil/ in $XDG_CACHE_HOME or
~/.cache on Linux) without being loaded or verified again; --no-cache renders
everything. The cache is safe to share between concurrent renders and to
delete at any time.

--shard K/N renders only the K-th of N deterministic parts of the
environments (all bases included); gen merge combines the N outputs into the
tree one render of everything writes.

Before writing, it compares every object with the tree already in the output
directory. A change to an immutable field of a kind that is safe to recreate
(StorageClass, Job, RoleBinding, ClusterRoleBinding) is listed as "recreate":
those objects carry kustomize.toolkit.fluxcd.io/force, so Flux replaces them.
A change Flux could only apply by deleting data or stopping a workload (a
StatefulSet's volume templates, a shrinking claim, a selector, a cluster IP)
is refused, naming the CUE field it comes from and the manual migration; once
that is done, --migrated writes anyway.`,
		Example: `  gen render                              # the example prod, into ./deploy
  gen render environments/dev environments/prod -o deploy
  gen render environments/*/ --shard 2/4 -o shard-2    # then: gen merge deploy shard-*`,
		RunE: func(c *cobra.Command, dirs []string) error {
			if out == "" {
				return usageError{errors.New("-o needs a directory")}
			}
			opts := generate.FleetOptions{}
			if shard != "" {
				s, err := generate.ParseShard(shard)
				if err != nil {
					return usageError{err}
				}
				opts.Shard = s
			}
			start := time.Now()
			srcs := sources(dirs)
			stderr := c.ErrOrStderr()
			if !noCache {
				opts.Cache = openCache(stderr)
			}
			var wopts []overlays.WriteOption
			if migrated {
				wopts = append(wopts, overlays.Migrated())
			}
			if !verbose {
				// Only -v prints added objects; new environments
				// cannot hold a recreated or refused one.
				wopts = append(wopts, overlays.QuietAdditions())
			}
			// Each environment's files go to the new tree beside out as
			// soon as they are verified: memory stays flat however large
			// the fleet. out itself changes only in Commit.
			tw, err := overlays.NewWriter(c.Context(), out, wopts...)
			if err != nil {
				return err
			}
			defer tw.Abort()
			opts.Sink = tw
			defer collectLessOften(len(srcs))()
			progress := newProgress(stderr, verbose)
			opts.Progress = progress.env
			f, err := generate.RenderFleet(c.Context(), srcs, opts)
			progress.done()
			if err != nil {
				return err
			}
			report, err := tw.Commit()
			if err != nil {
				return explainImmutable(c.Context(), "refusing to render (nothing written)", err, fleetSources(f))
			}
			w := c.OutOrStdout()
			printObjects(w, report.Objects, report.Notes, verbose)
			for _, e := range f.Envs {
				for _, d := range e.Warnings {
					fmt.Fprintln(stderr, d)
				}
				took := "cached"
				if !e.Cached {
					took = (e.Phases.Load + e.Phases.Generate).Round(time.Millisecond).String()
				}
				fmt.Fprintf(w, "%-10s %s (%s)\n", e.Name, layerSummary(e.Layers), took)
			}
			noun := "environments"
			if len(f.Envs) == 1 {
				noun = "environment"
			}
			fmt.Fprintf(w, "%d %s, %d from cache\n", len(f.Envs), noun, f.Cached)
			summary, files, _ := strings.Cut(report.String(), "\n")
			fmt.Fprintf(w, "%s in %s\n", summary, time.Since(start).Round(time.Millisecond))
			if verbose {
				fmt.Fprint(w, files)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", defaultOutput, "output directory (Vigil owns it); commit it where flux.path points")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every file added, changed, removed or kept, and every object changed; time each environment's phases (stderr)")
	c.Flags().BoolVar(&migrated, "migrated", false, "write even though immutable fields change in ways Vigil refuses: the manual migrations it listed are done")
	c.Flags().BoolVar(&noCache, "no-cache", false, "render every environment, neither reading nor writing the render cache")
	c.Flags().StringVar(&shard, "shard", "", "render only shard K of N (K/N) of the environments, with every base; combine the outputs with gen merge")
	return c
}

// openCache opens the render cache in the user's cache directory; when
// there is none or it cannot be created, gen says so and renders without.
func openCache(stderr io.Writer) *cache.Cache {
	dir, err := cache.DefaultDir()
	if err == nil {
		var c *cache.Cache
		if c, err = cache.Open(dir); err == nil {
			return c
		}
	}
	fmt.Fprintf(stderr, "gen: rendering without the render cache: %v\n", err)
	return nil
}

// fleetSources is the sources of a fleet render's environments, by name,
// for explaining a refused change: only then are they loaded again.
func fleetSources(f *generate.Fleet) func(context.Context, string) (*generate.Environment, generate.Source, error) {
	return func(ctx context.Context, name string) (*generate.Environment, generate.Source, error) {
		for _, e := range f.Envs {
			if e.Name == name {
				env, err := e.Source.Load(ctx)
				return env, e.Source, err
			}
		}
		return nil, generate.Source{}, fmt.Errorf("no environment %s", name)
	}
}

// progress reports a fleet render: with -v, each environment's phase times
// on stderr; on a terminal, a line that shows n/N and the environment just
// rendered, rewritten in place and erased at the end.
type progress struct {
	w        io.Writer
	verbose  bool
	terminal bool
	shown    bool
}

func newProgress(w io.Writer, verbose bool) *progress {
	p := &progress{w: w, verbose: verbose}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) env(e *generate.FleetEnv, done, total int) {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	if p.verbose {
		ph := e.Phases
		how := fmt.Sprintf("load %s, generate %s, compile+verify %s", ph.Load.Round(time.Millisecond), ph.Generate.Round(time.Millisecond), ph.Compile.Round(time.Millisecond))
		if e.Cached {
			how = "from cache"
		}
		fmt.Fprintf(p.w, "%s: read %s, cache %s, %s\n", e.Name, ph.Read.Round(time.Millisecond), ph.Cache.Round(time.Millisecond), how)
	}
	if p.terminal {
		fmt.Fprintf(p.w, "[%d/%d] %s", done, total, e.Name)
		p.shown = true
	}
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// printObjects labels the object changes of a render. Objects recreated or
// refused are always listed, with why; the rest only when verbose.
func printObjects(w io.Writer, changes []overlays.ObjectChange, notes []string, verbose bool) {
	for _, ch := range changes {
		switch ch.Action {
		case overlays.ActionRecreate, overlays.ActionRefused:
			fmt.Fprintln(w, ch)
			fmt.Fprintf(w, "          %s\n", ch.Why)
		default:
			if verbose {
				fmt.Fprintln(w, ch)
			}
		}
	}
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// explainImmutable turns a refused render into an error that names, for
// each refused change, the CUE field it comes from where there is one, and
// the manual migration. Other errors pass through. lookup gives an
// environment by name (loading it if the render came from the cache).
func explainImmutable(ctx context.Context, verb string, err error, lookup envLookup) error {
	var imm *overlays.ImmutableError
	if !errors.As(err, &imm) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d change(s) to immutable fields that Flux cannot apply and that Vigil will not have Flux recreate:", verb, len(imm.Refused))
	for _, ch := range imm.Refused {
		fmt.Fprintf(&b, "\n  %s: %s\n    why: %s\n    migration: %s", changeOrigin(ctx, ch, lookup), ch.Describe(), ch.Why, ch.Migration)
	}
	b.WriteString("\n  Undo the change in the environment, or do the migration and render again with --migrated.")
	return &refusedError{msg: b.String(), imm: imm}
}

// envLookup finds a rendered environment and its source by name.
type envLookup func(context.Context, string) (*generate.Environment, generate.Source, error)

// refusedError is the explained refusal; it unwraps to the
// *overlays.ImmutableError so that callers can still tell it by type.
type refusedError struct {
	msg string
	imm *overlays.ImmutableError
}

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return e.imm }

// changeOrigin is where a refused change comes from: the CUE position of
// the environment field that drives it, or the environment's directory when
// the change comes from Vigil's own output.
func changeOrigin(ctx context.Context, ch overlays.ObjectChange, lookup envLookup) string {
	e, src, err := lookup(ctx, ch.Environment)
	if err != nil {
		return ch.Environment
	}
	paths := generate.ChangeSources(e.Spec, ch)
	if len(paths) == 0 {
		return fmt.Sprintf("%s (no field of the environment; Vigil's output changed)", src)
	}
	ds, err := generate.Locate(ctx, src, paths)
	if err == nil {
		for _, d := range ds {
			if d.File != "" {
				return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Column, d.Path)
			}
		}
	}
	return fmt.Sprintf("%s: %s", src, strings.Join(paths[0], "."))
}

func layerSummary(counts map[stack.Layer]int) string {
	var parts []string
	total := 0
	for _, l := range stack.AllLayers() {
		if n := counts[l]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", l, n))
			total += n
		}
	}
	return fmt.Sprintf("%d objects: %s", total, strings.Join(parts, ", "))
}

func mergeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "merge OUT SHARD...",
		Short: "Combine the outputs of gen render --shard into one tree",
		Long: `merge reads the trees gen render --shard K/N wrote into each SHARD directory
(the files their .vigil-manifest lists) and writes into OUT the tree that one
gen render of all the environments writes, byte for byte, manifest included,
with render's checks (ownership, immutable fields). Every shard must come from
the same gen version (their bases must be identical) and hold environments no
other shard holds. Cross-environment checks (one environment per cluster,
unique names) need all environments at once: run gen validate on all of them.`,
		Example: `  gen render envs/*/ --shard 1/2 -o shard-1
  gen render envs/*/ --shard 2/2 -o shard-2
  gen merge deploy shard-1 shard-2`,
		Args: args(cobra.MinimumNArgs(2)),
		RunE: func(c *cobra.Command, a []string) error {
			start := time.Now()
			out, dirs := a[0], a[1:]
			trees := make([]*overlays.Tree, len(dirs))
			for i, d := range dirs {
				t, err := overlays.ReadTree(d)
				if err != nil {
					return err
				}
				trees[i] = t
			}
			tree, err := overlays.MergeShards(dirs, trees)
			if err != nil {
				return invalidMerge{err}
			}
			report, err := overlays.Write(c.Context(), tree, out)
			if err != nil {
				return err
			}
			summary, _, _ := strings.Cut(report.String(), "\n")
			fmt.Fprintf(c.OutOrStdout(), "%s in %s\n", summary, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

// invalidMerge is a set of shards that do not fit together: the input is
// wrong (exit 3), not Vigil.
type invalidMerge struct{ error }

func (e invalidMerge) Unwrap() error { return generate.ErrInvalid }

func diffCommand() *cobra.Command {
	var out string
	var noCache bool
	c := &cobra.Command{
		Use:   "diff [DIR...]",
		Short: "Show what rendering would change in the output directory",
		Long: `diff renders in memory and compares with the output directory. It labels every
object that would be added, removed or changed, and each change as in-place,
recreate (Flux deletes and creates the object again; safe for its kind) or
refused (an immutable field of an object that holds data or serves traffic:
render refuses it too, naming the CUE field and the manual migration). It
exits 1 when something would change, and 1 only then, so CI can tell a tree
that was not re-rendered (1) from invalid input or a refused change (3) or
trouble reading or writing (4).`,
		RunE: func(c *cobra.Command, dirs []string) error {
			if out == "" {
				return usageError{errors.New("-o needs a directory")}
			}
			srcs := sources(dirs)
			opts := generate.FleetOptions{}
			if !noCache {
				opts.Cache = openCache(c.ErrOrStderr())
			}
			f, err := generate.RenderFleet(c.Context(), srcs, opts)
			if err != nil {
				return err
			}
			d, err := overlays.Diff(f.Tree, out)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			for _, ch := range d.Objects {
				fmt.Fprintln(w, ch)
				if ch.Why != "" {
					fmt.Fprintf(w, "          %s\n", ch.Why)
				}
			}
			for _, n := range d.Notes {
				fmt.Fprintf(w, "note: %s\n", n)
			}
			fmt.Fprint(w, d.String())
			if refused := d.Refused(); len(refused) > 0 {
				return explainImmutable(c.Context(), "render would refuse", &overlays.ImmutableError{Refused: refused}, fleetSources(f))
			}
			if d.HasChanges() {
				return errChanged
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", defaultOutput, "output directory to compare with")
	c.Flags().BoolVar(&noCache, "no-cache", false, "render every environment, neither reading nor writing the render cache")
	return c
}

func graphCommand() *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "graph [DIR]",
		Short: "Print an environment's Flux dependency graph (Mermaid, DOT or explained)",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, dirs []string) error {
			if format != "mermaid" && format != "dot" && format != "explain" {
				return usageError{fmt.Errorf("--format must be mermaid, dot or explain, not %q", format)}
			}
			r, err := generate.Render(c.Context(), sources(dirs))
			if err != nil {
				return err
			}
			e := r.Environments[0]
			g, err := overlays.Graph(overlays.Environment{Name: e.Spec.Name, Objects: r.Objects[e.Spec.Name], Prerequisites: generate.Prerequisites(e.Spec), SOPS: e.SOPS()}, format)
			if err != nil {
				return err
			}
			fmt.Fprint(c.OutOrStdout(), g)
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "mermaid", "mermaid, dot, or explain (each Kustomization with the references it waits for)")
	return c
}

func schemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the environment schema: every field with its doc, default and constraint",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return generate.WriteSchemaReference(c.Context(), c.OutOrStdout())
		},
	}
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gen's version and the upstream versions it pins",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			version := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				version = bi.Main.Version
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "gen %s\n", version)
			for _, r := range stack.Pinned() {
				fmt.Fprintf(w, "  %s\n", r.Ref())
			}
			return nil
		},
	}
}
