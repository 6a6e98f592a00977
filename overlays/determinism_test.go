package overlays

import (
	"context"
	"math/rand"
	"runtime"
	"testing"

	"github.com/vigil-stack/vigil/generate/stack"
)

// shuffled rebuilds a Set with its objects and upstreams added in a random
// order.
func shuffled(r *rand.Rand, s *stack.Set) *stack.Set {
	res := s.Resources()
	r.Shuffle(len(res), func(i, j int) { res[i], res[j] = res[j], res[i] })
	ups := s.Upstreams()
	r.Shuffle(len(ups), func(i, j int) { ups[i], ups[j] = ups[j], ups[i] })
	out := &stack.Set{}
	for _, x := range res {
		out.Add(x.Component, x.Layer, x.Object)
	}
	for _, u := range ups {
		out.AddUpstream(u)
	}
	return out
}

func sameTree(t *testing.T, what string, a, b *Tree) {
	t.Helper()
	pa, pb := a.Paths(), b.Paths()
	if len(pa) != len(pb) {
		t.Fatalf("%s: %d files vs %d", what, len(pa), len(pb))
	}
	for i, p := range pa {
		if pb[i] != p {
			t.Fatalf("%s: file %d is %s vs %s", what, i, p, pb[i])
		}
		x, _ := a.File(p)
		y, _ := b.File(p)
		if string(x) != string(y) {
			t.Fatalf("%s: %s differs:\n%s", what, p, unified(p, x, y, true, true))
		}
	}
}

// TestDeterminism compiles the realistic stack repeatedly: twice as is, with
// every Set and the environment list shuffled, and under GOMAXPROCS 1, 2 and
// 8. Every tree must be byte-identical.
func TestDeterminism(t *testing.T) {
	ctx := context.Background()
	base := realisticStack("base")
	envs := realisticEnvs()
	ref, err := Compile(ctx, base, envs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Compile(ctx, base, envs)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, "second compile", ref, again)

	r := rand.New(rand.NewSource(42))
	for i := 0; i < 2; i++ {
		var mixed []Environment
		for _, e := range envs {
			mixed = append(mixed, Environment{Name: e.Name, Objects: shuffled(r, e.Objects), Flux: e.Flux})
		}
		r.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
		tree, err := Compile(ctx, shuffled(r, base), mixed)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, "shuffled input", ref, tree)
	}

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 8} {
		runtime.GOMAXPROCS(procs)
		tree, err := Compile(ctx, base, envs)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, "GOMAXPROCS change", ref, tree)
	}
}

// TestBasesIndependentOfEnvironments: rendering prod alone or all
// environments writes the same bases.
func TestBasesIndependentOfEnvironments(t *testing.T) {
	ctx := context.Background()
	base := realisticStack("base")
	all, err := Compile(ctx, base, realisticEnvs())
	if err != nil {
		t.Fatal(err)
	}
	prod, err := Compile(ctx, base, realisticEnvs()[2:])
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range all.Paths() {
		if len(p) > 5 && p[:5] == "base/" {
			n++
			a, _ := all.File(p)
			b, ok := prod.File(p)
			if !ok || string(a) != string(b) {
				t.Errorf("%s differs", p)
			}
		}
	}
	if got := len(filesUnder(prod, "base")); got != n {
		t.Errorf("prod alone has %d base files, all environments %d", got, n)
	}
}
