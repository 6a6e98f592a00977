package generate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sort"
	"strings"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/overlays"
)

// Source is one environment to render: a directory on disk, or a directory
// of an embedded file system laid out like the repository (FS non-nil).
type Source struct {
	Dir string
	FS  fs.FS
}

func (s Source) String() string { return s.Dir }

func (s Source) load(ctx context.Context) (*Environment, error) {
	if s.FS != nil {
		return LoadFS(ctx, s.FS, s.Dir)
	}
	return Load(ctx, s.Dir)
}

// Rendered is the result of rendering one or more environments.
type Rendered struct {
	// Environments in the order of their sources.
	Environments []*Environment
	// Objects holds each environment's generated objects, by name.
	Objects map[string]*stack.Set
	// Tree is the compiled and verified kustomize/Flux tree.
	Tree *overlays.Tree
	// Durations is the wall time of loading and generating each
	// environment, by name.
	Durations map[string]time.Duration
}

// SourceError is why one environment could not be loaded.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string {
	var d Diagnostics
	if errors.As(e.Err, &d) {
		return Redact(fmt.Sprintf("%s: invalid environment:\n%s", e.Source, indent(d.Error())))
	}
	return Redact(fmt.Sprintf("%s: %v", e.Source, e.Err))
}

func (e *SourceError) Unwrap() error { return e.Err }

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// Render loads, validates and generates every source concurrently (each
// with its own CUE context), generates the base environment, and compiles
// everything into one verified tree. Invalid environments are all reported,
// each as a *SourceError joined into the returned error. Options add a
// platform's own components and transforms (extension.go).
func Render(ctx context.Context, sources []Source, opts ...Option) (*Rendered, error) {
	if len(sources) == 0 {
		return nil, errors.New("no environment to render")
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	envs := make([]*Environment, len(sources))
	sets := make([]*stack.Set, len(sources))
	took := make([]time.Duration, len(sources))
	errs := make([]error, len(sources))
	var base *stack.Set

	// kustomize's schema is parsed while CUE loads, not after.
	go overlays.Warm()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	g.Go(func() error {
		b, err := BaseEnvironment(gctx)
		if err != nil {
			return err
		}
		base, err = o.build(b)
		return err
	})
	for i, src := range sources {
		g.Go(func() error {
			start := time.Now()
			e, err := src.load(gctx)
			if err == nil {
				sets[i], err = o.build(e)
			}
			if err != nil {
				errs[i] = &SourceError{Source: src.String(), Err: err}
				return nil
			}
			envs[i], took[i] = e, time.Since(start)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := CheckClusters(ctx, sources, envs); err != nil {
		return nil, err
	}

	out := &Rendered{Environments: envs, Objects: map[string]*stack.Set{}, Durations: map[string]time.Duration{}}
	compileEnvs := make([]overlays.Environment, 0, len(envs))
	for i, e := range envs {
		name := e.Spec.Name
		if prev, dup := out.Objects[name]; dup && prev != nil {
			return nil, invalid(fmt.Errorf("two environments are named %q (%s and another); names must be unique", name, sources[i]))
		}
		out.Objects[name], out.Durations[name] = sets[i], took[i]
		flux, err := fluxOptions(e.Spec)
		if err != nil {
			return nil, invalid(fmt.Errorf("%s: %w", sources[i], err))
		}
		compileEnvs = append(compileEnvs, overlays.Environment{Name: name, Objects: sets[i], Flux: flux, Prerequisites: Prerequisites(e.Spec), SOPS: e.SOPS()})
	}
	sort.SliceStable(compileEnvs, func(i, j int) bool { return compileEnvs[i].Name < compileEnvs[j].Name })
	tree, err := overlays.Compile(ctx, base, compileEnvs)
	if err != nil {
		return nil, fmt.Errorf("compile overlays: %w", err)
	}
	if err := checkTree(tree); err != nil {
		return nil, err
	}
	out.Tree = tree
	return out, nil
}

// fluxOptions translates the environment's flux settings.
func fluxOptions(e *env.Environment) (overlays.Flux, error) {
	f := overlays.Flux{
		Namespace: e.Flux.Namespace,
		SourceRef: kustomizev1.CrossNamespaceSourceReference{
			Kind: e.Flux.SourceRef.Kind, Name: e.Flux.SourceRef.Name, Namespace: e.Flux.SourceRef.Namespace,
		},
		Path: e.Flux.Path,
	}
	for _, d := range []struct {
		field string
		in    string
		out   *metav1.Duration
	}{
		{"interval", e.Flux.Interval, &f.Interval},
		{"timeout", e.Flux.Timeout, &f.Timeout},
		{"retryInterval", e.Flux.RetryInterval, &f.RetryInterval},
	} {
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return f, fmt.Errorf("flux.%s: %w", d.field, err)
		}
		d.out.Duration = v
	}
	return f, nil
}

// Layers counts an environment's objects per layer, for summaries.
func Layers(s *stack.Set) map[stack.Layer]int {
	n := map[stack.Layer]int{}
	for _, r := range s.Resources() {
		n[r.Layer]++
	}
	return n
}

// request reads the source's files, checked, for a load.
func (s Source) request() (loadRequest, error) {
	if s.FS != nil {
		return fsRequest(s.FS, s.Dir)
	}
	return diskRequest(s.Dir)
}

// Load loads and checks the source's environment.
func (s Source) Load(ctx context.Context) (*Environment, error) { return s.load(ctx) }
