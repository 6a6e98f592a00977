package generate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// TestInvalidEnvironments loads every testdata/invalid/*.txtar case: its
// files form an environment directory, and its "want" file lists the
// diagnostics, positions included, that Load must report. Rewrite the want
// sections with -update, then read the diff.
func TestInvalidEnvironments(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(stacktest.RepoRoot(), "testdata", "invalid", "*.txtar"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var want string
			for _, f := range ar.Files {
				if f.Name == "want" {
					want = string(f.Data)
					continue
				}
				name := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(name, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := diagnose(t, dir)
			for _, leak := range []string{"hooks.slack.com/services", "xoxb-", "XXXXXXXX"} {
				if strings.Contains(got, leak) {
					t.Errorf("a diagnostic echoes a secret value (%q):\n%s", leak, got)
				}
			}
			if *stacktest.Update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = []byte(got)
					}
				}
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
		})
	}
}

// diagnose loads dir and returns its diagnostics one a line, with file names
// relative to dir, warnings included.
func diagnose(t *testing.T, dir string) string {
	t.Helper()
	e, err := generate.Load(context.Background(), dir)
	var diags generate.Diagnostics
	switch {
	case err == nil:
		diags = e.Warnings
		if len(diags) == 0 {
			t.Fatal("the environment loaded without a diagnostic")
		}
	case !errors.As(err, &diags):
		t.Fatalf("not diagnostics: %v", err)
	}
	var b strings.Builder
	for _, d := range diags {
		// A diagnostic about the directory itself (it holds no CUE) has
		// the directory's path and no line.
		if fi, err := os.Stat(d.File); d.File == "" || (d.Line == 0 && (err != nil || !fi.IsDir())) {
			t.Errorf("diagnostic without a position: %s", d)
		}
		if rel, err := filepath.Rel(dir, d.File); err == nil && !strings.HasPrefix(rel, "..") {
			d.File = rel
		}
		// Positions named inside a message (the other side of a conflict,
		// the imports of a cycle) are relative to the case too.
		d.Message = strings.ReplaceAll(d.Message, dir+string(filepath.Separator), "")
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
