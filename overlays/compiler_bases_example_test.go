package overlays_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/overlays"
)

// Vigil's own bases, read back from their files, make the Compiler that
// generating Vigil's default environment makes, and every example compiles
// against it into the same tree.
func TestCompilerFromVigilBases(t *testing.T) {
	ctx := context.Background()
	base, err := generate.BaseEnvironment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set, err := generate.Build(base.Spec)
	if err != nil {
		t.Fatal(err)
	}
	generated, err := overlays.NewCompiler(set)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := overlays.CompilerFromBases(generated.Bases().Files())
	if err != nil {
		t.Fatal(err)
	}
	if d := overlays.CompilerDiffForTest(generated, rebuilt); d != "" {
		t.Fatalf("rebuilt Compiler (-generated +rebuilt):\n%s", d)
	}
	names := examples
	if testing.Short() {
		names = []string{"prod"} // the most components; make test-full runs every example
	}
	for _, name := range names {
		e, err := generate.Load(ctx, filepath.Join("..", "environments", name))
		if err != nil {
			t.Fatal(err)
		}
		s, err := generate.Build(e.Spec)
		if err != nil {
			t.Fatal(err)
		}
		env := []overlays.Environment{{Name: e.Spec.Name, Objects: s, Prerequisites: generate.Prerequisites(e.Spec), SOPS: e.SOPS()}}
		want, err := generated.Batch(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rebuilt.Batch(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want[e.Spec.Name].Files(), got[e.Spec.Name].Files()); d != "" {
			t.Errorf("%s (-generated compiler +rebuilt):\n%s", name, d)
		}
	}
}
