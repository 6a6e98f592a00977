package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestInitThenDiff is the CI job's contract on a fresh repository: gen diff
// exits 0 on the tree just rendered and exactly 1 once the environment
// changes, so the job fails on a stale deploy/ and on nothing else.
func TestInitThenDiff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "platform")
	gen := func(want int, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if got := run(context.Background(), args, &stdout, &stderr); got != want {
			t.Fatalf("gen %v exited %d, want %d\nstdout: %s\nstderr: %s", args, got, want, stdout.String(), stderr.String())
		}
	}
	gen(exitOK, "init", dir, "--module", "example.com/acme/platform", "--name", "lab")
	// The CI job must at least be YAML with the steps that guard deploy/.
	var wf struct {
		Jobs map[string]struct {
			Steps []struct{ Run string }
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, ".github", "workflows", "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("CI job: %v", err)
	}
	var runs []string
	for _, s := range wf.Jobs["vigil"].Steps {
		runs = append(runs, s.Run)
	}
	for _, want := range []string{"gen validate envs/*/", "gen render envs/*/", "gen diff envs/*/ -o deploy"} {
		if !strings.Contains(strings.Join(runs, "\n"), want) {
			t.Errorf("CI job does not run %q: %q", want, runs)
		}
	}
	env, out := filepath.Join(dir, "envs", "lab"), filepath.Join(dir, "deploy")
	gen(exitOK, "render", env, "-o", out)
	gen(exitOK, "diff", env, "-o", out)
	if err := os.WriteFile(filepath.Join(env, "more.cue"), []byte("package lab\n\nmonitoring: prometheus: retention: \"2d\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gen(exitChanged, "diff", env, "-o", out)
	// A second init never touches the repository.
	gen(exitIO, "init", dir)
	if _, err := os.Stat(filepath.Join(env, "more.cue")); err != nil {
		t.Fatal(err)
	}
}
