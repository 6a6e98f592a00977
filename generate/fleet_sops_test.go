package generate_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stack"
)

// TestFleetShipsSOPS: the fleet renderer ships SOPS files like Render, and
// a cached environment is used only while the encrypted files it shipped
// are unchanged; the SOPS file's path is not an input CUE reads, so a
// cache keyed on CUE files alone would ship a stale Secret.
func TestFleetShipsSOPS(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir)
	devDir := filepath.Join(dir, "environments", "dev")
	if err := os.WriteFile(filepath.Join(devDir, "sops.cue"), []byte(`package dev
monitoring: grafana: admin: password: sops: "secrets/grafana.sops.yaml"
sops: keySecret: "sops-age"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(devDir, "secrets", "grafana.sops.yaml")
	if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	const shipped = "envs/dev/_secrets/monitoring/secret-grafana-admin.yaml"
	srcs := []generate.Source{{Dir: devDir}}
	c := openCache(t)

	for i, password := range []string{"first-password-1", "second-password-2"} {
		file, _ := sopsFixture(t, "grafana-admin", "", map[string]string{"password": password})
		if err := os.WriteFile(secret, file, 0o644); err != nil {
			t.Fatal(err)
		}
		want, err := generate.Render(context.Background(), srcs)
		if err != nil {
			t.Fatal(err)
		}
		cold := renderFleet(t, srcs, generate.FleetOptions{Cache: c})
		if cold.Cached != 0 {
			t.Errorf("edit %d: a changed SOPS file came from the cache", i)
		}
		sameTree(t, "fleet with SOPS", want.Tree, cold.Tree)
		if got, _ := cold.Tree.File(shipped); string(got) != string(file) {
			t.Errorf("edit %d: %s is not the current encrypted file", i, shipped)
		}
		warm := renderFleet(t, srcs, generate.FleetOptions{Cache: c})
		if warm.Cached != 1 {
			t.Errorf("edit %d: unchanged inputs and SOPS file missed the cache", i)
		}
		sameTree(t, "cached fleet with SOPS", want.Tree, warm.Tree)
	}
}

// TestFleetExtensions: components and transforms reach the fleet renderer
// as they reach Render, and such a render bypasses the cache, which keys on
// the binary and cannot see what a closure captured.
func TestFleetExtensions(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir)
	srcs := []generate.Source{{Dir: filepath.Join(dir, "environments", "dev")}}
	label := func(value string) generate.Option {
		return generate.WithTransform("team-label", func(_ *generate.Environment, r stack.Resource) error {
			l := r.Object.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			l["example.com/team"] = value
			r.Object.SetLabels(l)
			return nil
		})
	}
	c := openCache(t)
	for _, team := range []string{"data", "platform"} {
		want, err := generate.Render(context.Background(), srcs, label(team))
		if err != nil {
			t.Fatal(err)
		}
		got := renderFleet(t, srcs, generate.FleetOptions{Cache: c, Options: []generate.Option{label(team)}})
		if got.Cached != 0 {
			t.Errorf("team %s: a render with a transform came from the cache", team)
		}
		sameTree(t, "fleet with a transform", want.Tree, got.Tree)
	}
}
