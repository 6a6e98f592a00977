package generate

import (
	"context"
	_ "embed"
	"fmt"
	"testing/fstest"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// component is one generator of the stack, in the order Build runs them.
type component struct {
	name     string
	generate func(*env.Environment, *stack.Set) error
}

// components lists every generator. Order does not matter for the output
// (a Set sorts itself) but keeps error messages predictable.
var components = []component{}

// Build generates the typed objects of every enabled component of a valid
// environment.
func Build(e *env.Environment) (*stack.Set, error) {
	s := &stack.Set{}
	for _, c := range components {
		if err := c.generate(e, s); err != nil {
			return nil, fmt.Errorf("generate %s: %w", c.name, err)
		}
	}
	return s, nil
}

//go:embed baseenv/env.cue
var baseEnvironment []byte

// BaseEnvironment is Vigil's default environment with every component on;
// its objects are the kustomize bases every environment patches.
func BaseEnvironment(ctx context.Context) (*Environment, error) {
	fsys := fstest.MapFS{"environments/base/env.cue": {Data: baseEnvironment}}
	e, err := LoadFS(ctx, fsys, "environments/base")
	if err != nil {
		return nil, fmt.Errorf("base environment: %w", err)
	}
	return e, nil
}
