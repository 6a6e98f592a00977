package generate

import (
	"fmt"
	"strings"

	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/overlays"
)

// Option extends or adjusts what Render generates; see WithComponent and
// WithTransform.
type Option func(*options)

// GenerateFunc adds the objects of a platform's own component to s, for
// one environment. It runs for every rendered environment and for Vigil's
// default environment, whose objects are the kustomize bases (read the
// environment's own settings with (*Environment).Extension; the default
// environment has none, so a component should generate its defaults then).
// Every object it adds must name the component it was registered with.
type GenerateFunc func(e *Environment, s *stack.Set) error

// TransformFunc changes one generated object in place, Vigil's own and the
// extensions' alike (a label, a toleration, a site policy's annotation).
// It runs once per object of every environment, the default one included,
// after every component has generated. It must be deterministic.
type TransformFunc func(e *Environment, r stack.Resource) error

type extComponent struct {
	name     string
	generate GenerateFunc
}

type extTransform struct {
	name string
	fn   TransformFunc
}

type options struct {
	components []extComponent
	transforms []extTransform
	err        error
}

// WithComponent adds a component of the platform's own: its objects go
// through the same bases, overlays, dependency graph, Flux units
// (<env>-<name>-<layer>) and round-trip verification as Vigil's. The name
// is a DNS label that no Vigil component uses.
func WithComponent(name string, generate GenerateFunc) Option {
	return func(o *options) {
		if o.err != nil {
			return
		}
		switch {
		case generate == nil:
			o.err = fmt.Errorf("WithComponent(%q): no generate function", name)
		case reservedComponent(name):
			o.err = fmt.Errorf("WithComponent(%q): Vigil has a component of that name; choose another", name)
		default:
			for _, c := range o.components {
				if c.name == name {
					o.err = fmt.Errorf("WithComponent(%q): added twice", name)
					return
				}
			}
			o.components = append(o.components, extComponent{name, generate})
		}
	}
}

// WithTransform adds a transform, named for error messages. Transforms run
// in the order they are given.
func WithTransform(name string, fn TransformFunc) Option {
	return func(o *options) {
		if o.err == nil && fn == nil {
			o.err = fmt.Errorf("WithTransform(%q): no transform function", name)
		}
		if o.err == nil {
			o.transforms = append(o.transforms, extTransform{name, fn})
		}
	}
}

// reservedComponent reports names the tree already uses: Vigil's
// components, the names of the objects each of them adds, and the overlay
// compiler's own directories.
func reservedComponent(name string) bool {
	switch name {
	case "flux", "prerequisites", "secrets", "base", "envs", "clusters":
		return true
	}
	for _, c := range components {
		if c.name == name {
			return true
		}
	}
	return false
}

// extends reports whether a platform added components or transforms.
func (o *options) extends() bool { return o != nil && (len(o.components) > 0 || len(o.transforms) > 0) }

func newOptions(opts []Option) (*options, error) {
	o := &options{}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	return o, o.err
}

// build generates one environment's objects: Vigil's components, then the
// extensions' in the order given, then the transforms, then the mirror
// registry (so that an extension's images move to the mirror too), and
// finally marks what Flux may replace.
func (o *options) build(e *Environment) (*stack.Set, error) {
	s, err := buildComponents(e.Spec)
	if err != nil {
		return nil, err
	}
	if o != nil {
		for _, c := range o.components {
			own := &stack.Set{}
			if err := c.run(e, own); err != nil {
				return nil, fmt.Errorf("generate %s: %w", c.name, err)
			}
			for _, r := range own.Resources() {
				if r.Component != c.name {
					return nil, fmt.Errorf("generate %s: adds %s %s under component %q; a component adds objects under its own name only",
						c.name, r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName(), r.Component)
				}
			}
			s.Merge(own)
		}
		for _, t := range o.transforms {
			for _, r := range s.Resources() {
				if err := t.fn(e, r); err != nil {
					return nil, fmt.Errorf("transform %s: %s %s/%s: %w", t.name,
						r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetNamespace(), r.Object.GetName(), err)
				}
			}
		}
	}
	if err := mirrorImages(e.Spec, s); err != nil {
		return nil, err
	}
	mirrorSources(e.Spec, s)
	overlays.MarkReplaceable(s)
	return s, nil
}

// run calls the component, turning stack.Set.Add's panic on a Go type
// missing from stack.Scheme into an error that says what to do.
func (c extComponent) run(e *Environment, s *stack.Set) (err error) {
	defer func() {
		if p := recover(); p != nil {
			msg, ok := p.(string)
			if !ok || !strings.HasPrefix(msg, "stack: type not in Scheme") {
				panic(p)
			}
			err = fmt.Errorf("%s; register the object's Go type with stack.AddToScheme", msg)
		}
	}()
	return c.generate(e, s)
}

// Extension decodes the environment's extensions.<key> into v (see
// schema/platform.cue), strictly: a field v does not have is an error. It
// reports whether the key is set.
func (e *Environment) Extension(key string, v any) (bool, error) {
	if e == nil || e.Spec == nil {
		return false, nil
	}
	return e.Spec.Extensions.Decode(key, v)
}
