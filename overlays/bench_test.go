package overlays

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
)

func realisticEnvs() []Environment {
	var envs []Environment
	for _, n := range []string{"dev", "staging", "prod"} {
		envs = append(envs, Environment{Name: n, Objects: realisticStack(n), Flux: Flux{Path: "./deploy"}})
	}
	return envs
}

// BenchmarkCompile compiles and verifies the realistic stack for three
// environments: about 300 objects each, over all seven layers.
func BenchmarkCompile(b *testing.B) {
	base := realisticStack("base")
	envs := realisticEnvs()
	ctx := context.Background()
	// The first compile parses kyaml's OpenAPI schema, once per process.
	tree, err := Compile(ctx, base, envs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(base.Resources())), "objects/env")
	b.ReportMetric(float64(tree.Len()), "files")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(ctx, base, envs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileProd is one environment, the budget case: the full prod
// stack compiled and verified.
func BenchmarkCompileProd(b *testing.B) {
	base := realisticStack("base")
	envs := realisticEnvs()[2:]
	ctx := context.Background()
	if _, err := Compile(ctx, base, envs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(ctx, base, envs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteProd writes the compiled realistic prod tree into a fresh
// directory: file creation, durability and the swap, without compiling.
func BenchmarkWriteProd(b *testing.B) {
	tree, err := Compile(context.Background(), realisticStack("base"), realisticEnvs()[2:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(tree.Len()), "files")
	b.ReportAllocs()
	root := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if _, err := Write(context.Background(), tree, filepath.Join(root, strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
}
