package generate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// minimalEnv is the smallest valid environment.
const minimalEnv = `package test

name: "test"
cluster: name: "test"
storage: {
	backends: disk: {kind: "csi", csi: provisioner: "ebs.csi.aws.com"}
	roles: block: "disk"
}
spark: historyServer: enabled: false
logging: elasticsearch: nodeSets: default: {}
`

// loadWithin loads dir and fails the test if Load takes longer than limit:
// the cases below used to block forever or evaluate for minutes.
func loadWithin(t *testing.T, dir string, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Load(context.Background(), dir)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Load(%s) did not return within %s", dir, limit)
		return nil
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func wantRefused(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("loaded; want a refusal mentioning %q", parts)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error is not ErrInvalid (exit code 3): %v", err)
	}
	msg := (&SourceError{Source: "env", Err: err}).Error()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error does not mention %q:\n%s", p, msg)
		}
	}
}

// TestHostileFiles: an environment directory holds regular .cue files
// inside it, of a sane size; anything else is refused at its path, at once.
func TestHostileFiles(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"outside.cue": "package test\n"})

	for _, c := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"fifo named .cue", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe.cue"), 0o644); err != nil {
				t.Skip("no FIFOs here:", err)
			}
		}, []string{"pipe.cue", "not a regular file"}},
		{"symlink escaping the directory", func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(outside, "outside.cue"), filepath.Join(dir, "link.cue")); err != nil {
				t.Fatal(err)
			}
		}, []string{"link.cue", "outside the environment directory"}},
		{"file over the size limit", func(t *testing.T, dir string) {
			big := "package test\n_pad: \"" + strings.Repeat("x", maxFileSize) + "\"\n"
			writeFiles(t, dir, map[string]string{"big.cue": big})
		}, []string{"big.cue", "larger than"}},
		{"fifo as cue.mod/module.cue", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "cue.mod"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(filepath.Join(dir, "cue.mod", "module.cue"), 0o644); err != nil {
				t.Skip("no FIFOs here:", err)
			}
		}, []string{"module.cue", "not a regular file"}},
		{"deeply nested hidden list", func(t *testing.T, dir string) {
			deep := "package test\n_x: " + strings.Repeat("[", 2000) + "1" + strings.Repeat("]", 2000) + "\n"
			writeFiles(t, dir, map[string]string{"deep.cue": deep})
		}, []string{"deep.cue:2:", "nest more than"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"env.cue": minimalEnv})
			c.setup(t, dir)
			wantRefused(t, loadWithin(t, dir, 10*time.Second), c.want...)
		})
	}

	t.Run("symlink inside the directory is fine", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"real/env.cue.txt": minimalEnv})
		if err := os.Symlink(filepath.Join(dir, "real", "env.cue.txt"), filepath.Join(dir, "env.cue")); err != nil {
			t.Fatal(err)
		}
		if err := loadWithin(t, dir, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// A FIFO in a package the environment imports from its module is refused
// too: CUE would open it while loading the import.
func TestHostileImportedPackage(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"cue.mod/module.cue": "module: \"example.com/fleet\"\nlanguage: version: \"v0.16.0\"\n",
		"shared/shared.cue":  "package shared\nx: 1\n",
		"envs/test/env.cue":  strings.Replace(minimalEnv, "package test\n", "package test\n\nimport \"example.com/fleet/shared\"\n\n_s: shared.x\n", 1),
	})
	if err := syscall.Mkfifo(filepath.Join(root, "shared", "pipe.cue"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	wantRefused(t, loadWithin(t, filepath.Join(root, "envs", "test"), 10*time.Second), "pipe.cue", "not a regular file")
}

// Evaluation runs under a deadline: past it, Load returns a clear error
// instead of waiting.
func TestEvaluationDeadline(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"env.cue": minimalEnv})
	defer func(d time.Duration) { evalTimeout = d }(evalTimeout)
	evalTimeout = time.Millisecond
	wantRefused(t, loadWithin(t, dir, 10*time.Second), "took longer than")
}

// A sops: file is read like a .cue file: a FIFO or a symlink out of the
// environment directory is refused at the sops field, and nothing blocks.
func TestHostileSOPSFiles(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"grafana.sops.yaml": "apiVersion: v1\n"})
	env := minimalEnv + `monitoring: grafana: admin: password: {secret: "grafana-admin", key: "password", sops: "secrets/grafana.sops.yaml"}` + "\n"
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, file string)
		want  string
	}{
		{"fifo", func(t *testing.T, file string) {
			if err := syscall.Mkfifo(file, 0o644); err != nil {
				t.Skip("no FIFOs here:", err)
			}
		}, "not a regular file"},
		{"symlink escaping", func(t *testing.T, file string) {
			if err := os.Symlink(filepath.Join(outside, "grafana.sops.yaml"), file); err != nil {
				t.Fatal(err)
			}
		}, "outside the environment directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"env.cue": env})
			if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o755); err != nil {
				t.Fatal(err)
			}
			c.setup(t, filepath.Join(dir, "secrets", "grafana.sops.yaml"))
			wantRefused(t, loadWithin(t, dir, 10*time.Second), "env.cue:11:", "monitoring.grafana.admin.password.sops", c.want)
		})
	}
}
