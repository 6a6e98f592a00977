package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// TestExitCodes runs gen as CI does and checks the exit code that tells a
// pipeline what happened: 1 only for drift, never for broken input.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Dir(p)
	}
	prod := filepath.Join(stacktest.RepoRoot(), "environments", "prod")
	broken := write("broken/env.cue", "package broken\nname: 3\n")
	out := filepath.Join(dir, "out")
	foreign := filepath.Join(write("foreign/notes.txt", "mine\n"))

	for _, c := range []struct {
		name string
		args []string
		want int
	}{
		{"valid", []string{"validate", prod}, exitOK},
		{"invalid", []string{"validate", broken}, exitInvalid},
		{"missing directory", []string{"validate", filepath.Join(dir, "nope")}, exitIO},
		{"render -o ''", []string{"render", prod, "-o", ""}, exitUsage},
		{"diff -o ''", []string{"diff", prod, "-o", ""}, exitUsage},
		{"unknown flag", []string{"render", "--nope"}, exitUsage},
		{"render", []string{"render", prod, "-o", out}, exitOK},
		{"diff, up to date", []string{"diff", prod, "-o", out}, exitOK},
		{"diff, invalid input", []string{"diff", broken, "-o", out}, exitInvalid},
		{"render into a foreign directory", []string{"render", prod, "-o", foreign}, exitIO},
	} {
		var stdout, stderr bytes.Buffer
		if got := run(context.Background(), c.args, &stdout, &stderr); got != c.want {
			t.Errorf("%s: gen %s exited %d, want %d\nstderr: %s", c.name, strings.Join(c.args, " "), got, c.want, stderr.String())
		}
	}

	// Drift, and only drift, exits 1.
	if err := os.WriteFile(filepath.Join(out, "clusters", "prod", "kustomization.yaml"), []byte("# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if got := run(context.Background(), []string{"diff", prod, "-o", out}, &stdout, &stderr); got != exitChanged {
		t.Errorf("diff with drift exited %d, want %d\nstderr: %s", got, exitChanged, stderr.String())
	}
}

// An error that is neither the user's input nor I/O is Vigil's bug and is
// reported as one, not as invalid input.
func TestExitCodeOfInternalErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("compile overlays: %w", errors.New("verification failed")), exitInternal},
		{&generate.SourceError{Source: "prod", Err: errors.New("generate grafana: boom")}, exitInternal},
		{&generate.SourceError{Source: "prod", Err: generate.Diagnostics{{Message: "bad"}}}, exitInvalid},
		{fmt.Errorf("write: %w", &os.PathError{Op: "open", Path: "x", Err: os.ErrPermission}), exitIO},
		{context.Canceled, exitIO},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"version", "extra"}, &bytes.Buffer{}, &stderr)
	if code != exitUsage {
		t.Errorf("gen version extra: exit %d, want %d", code, exitUsage)
	}
}
