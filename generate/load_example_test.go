package generate_test

import (
	"context"
	"testing"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
)

func TestExamplesValidate(t *testing.T) {
	for _, name := range vigil.ExampleNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, load := range []struct {
				how string
				fn  func() (*generate.Environment, error)
			}{
				{"disk", func() (*generate.Environment, error) {
					return generate.Load(context.Background(), "../environments/"+name)
				}},
				{"embedded", func() (*generate.Environment, error) {
					return generate.LoadFS(context.Background(), vigil.Examples, "environments/"+name)
				}},
			} {
				e, err := load.fn()
				if err != nil {
					t.Fatalf("%s: %v", load.how, err)
				}
				if e.Spec.Name != name {
					t.Errorf("%s: name = %q, want %q", load.how, e.Spec.Name, name)
				}
				for _, w := range e.Warnings {
					t.Logf("%s: %s", load.how, w)
				}
			}
		})
	}
}
