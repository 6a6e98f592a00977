package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/overlays"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
)

// defaultOutput is where render writes: the directory the schema's default
// flux.path ("./deploy") points at when committed at the repository root.
const defaultOutput = "deploy"

// usageError marks a mistake in how gen was called, as opposed to a
// problem in the environments it was given.
type usageError struct{ error }

// changedError is gen diff's "something would change".
var errChanged = errors.New("the rendered tree differs from the output directory")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errChanged):
		return exitInvalid
	case errors.Is(err, errMissing):
		fmt.Fprintln(stderr, "gen:", err)
		return exitInvalid
	}
	fmt.Fprintln(stderr, "gen:", err)
	var u usageError
	if errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintln(stderr, "Run 'gen --help' for usage.")
		return exitUsage
	}
	return exitInvalid
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "gen",
		Short: "Compile Vigil environments into kustomize overlays and Flux Kustomizations",
		Long: `gen turns directories of CUE that describe environments (dev, staging, prod, …)
into a kustomize tree for the whole monitoring and logging stack, and the Flux
Kustomizations that reconcile it in order. Every environment is checked against
the schema first; every mistake is reported at the line of CUE that caused it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(validateCommand(), renderCommand(), diffCommand(), graphCommand(), prereqsCommand(), schemaCommand(), versionCommand())
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
			failed := 0
			for _, dir := range dirs {
				e, err := generate.Load(c.Context(), dir)
				if err != nil {
					failed++
					fmt.Fprintln(c.ErrOrStderr(), (&generate.SourceError{Source: dir, Err: err}).Error())
					continue
				}
				for _, w := range e.Warnings {
					fmt.Fprintln(c.ErrOrStderr(), w)
				}
				fmt.Fprintf(c.OutOrStdout(), "%s: ok (%s)\n", dir, e.Spec.Name)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d environments are invalid", failed, len(dirs))
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
	var out string
	var verbose bool
	c := &cobra.Command{
		Use:   "render [DIR...]",
		Short: "Render environments into a kustomize and Flux tree",
		Long: `render loads, validates and generates every environment concurrently, compiles
them into kustomize bases, per-environment overlays and Flux Kustomizations,
verifies that every overlay builds to exactly the generated objects, and
replaces the output directory atomically. Without DIR it renders the embedded
example environment "prod".`,
		Example: `  gen render                              # the example prod, into ./deploy
  gen render environments/dev environments/prod -o deploy`,
		RunE: func(c *cobra.Command, dirs []string) error {
			start := time.Now()
			r, err := generate.Render(c.Context(), sources(dirs))
			if err != nil {
				return err
			}
			report, err := overlays.Write(c.Context(), r.Tree, out)
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			for _, e := range r.Environments {
				printWarnings(c.ErrOrStderr(), e)
				fmt.Fprintf(w, "%-10s %s (%s)\n", e.Spec.Name, layerSummary(r.Objects[e.Spec.Name]), r.Durations[e.Spec.Name].Round(time.Millisecond))
			}
			summary, files, _ := strings.Cut(report.String(), "\n")
			fmt.Fprintf(w, "%s in %s\n", summary, time.Since(start).Round(time.Millisecond))
			if verbose {
				fmt.Fprint(w, files)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", defaultOutput, "output directory (Vigil owns it); commit it where flux.path points")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every file added, changed, removed or kept")
	return c
}

func printWarnings(w io.Writer, e *generate.Environment) {
	for _, d := range e.Warnings {
		fmt.Fprintln(w, d)
	}
}

func layerSummary(s *stack.Set) string {
	counts := generate.Layers(s)
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

func diffCommand() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "diff [DIR...]",
		Short: "Show what rendering would change in the output directory",
		Long: `diff renders in memory and compares with the output directory. It exits 1 when
something would change, so CI can catch a tree that was not re-rendered.`,
		RunE: func(c *cobra.Command, dirs []string) error {
			r, err := generate.Render(c.Context(), sources(dirs))
			if err != nil {
				return err
			}
			d, err := overlays.Diff(r.Tree, out)
			if err != nil {
				return err
			}
			fmt.Fprint(c.OutOrStdout(), d.String())
			if d.HasChanges() {
				return errChanged
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", defaultOutput, "output directory to compare with")
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
			g, err := overlays.Graph(overlays.Environment{Name: e.Spec.Name, Objects: r.Objects[e.Spec.Name], Prerequisites: generate.Prerequisites(e.Spec)}, format)
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
