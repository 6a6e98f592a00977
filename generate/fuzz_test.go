package generate

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-stack/vigil"
)

// Fuzzing: `make fuzz` runs each target for a short while (CI does too);
// `go test` runs only the seeds, from testdata/fuzz/<target>/*.cue and the
// examples. Inputs the fuzzer finds failing land in
// generate/testdata/fuzz/<FuzzName>/, as go test -fuzz does.

// seeds adds every .cue file of testdata/fuzz/<dir> to the corpus.
func seeds(f *testing.F, dir string) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "fuzz", dir, "*.cue"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/fuzz/%s: %v", dir, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

// exampleFS is the embedded examples (for the fleet package) with one more
// environment, environments/fuzz/env.cue, holding text.
func exampleFS(text string) fs.FS {
	fsys := fstest.MapFS{"environments/fuzz/env.cue": {Data: []byte(text)}}
	fs.WalkDir(vigil.Examples, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(vigil.Examples, p)
			fsys[p] = &fstest.MapFile{Data: b}
		}
		return nil
	})
	return fsys
}

// checkRejection is what every refusal of fuzzed input must be: caused by
// the input (not a Vigil bug), positioned when it is about CUE, and free
// of anything that looks like a credential.
func checkRejection(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("input refused as a Vigil bug, not as invalid input: %v", err)
	}
	msg := (&SourceError{Source: "environments/fuzz", Err: err}).Error()
	if what := credential(msg); what != "" {
		t.Fatalf("the message repeats %s:\n%s", what, msg)
	}
	var diags Diagnostics
	if errors.As(err, &diags) {
		for _, d := range diags {
			// A problem of a whole file (no package clause) names the
			// file; any other names its line.
			if (d.File == "" || d.Line == 0) && !strings.Contains(d.Message, ".cue") {
				t.Errorf("diagnostic without a position: %s", d)
			}
		}
	}
}

// FuzzLoad loads arbitrary CUE text as an environment beside the example
// fleet package: no panic, no hang past the deadline, every rejection
// positioned and redacted.
func FuzzLoad(f *testing.F) {
	seeds(f, "load")
	// CUE's evaluator cannot be interrupted: an input past the deadline is
	// refused but runs on in its goroutine, and in one long-lived fuzz
	// worker a few of those (list.Range with a mutated bound) starve every
	// later input. The deadline is shorter here, and the builtins that
	// build values of any size are left to TestEvaluationDeadline.
	defer func(d time.Duration) { evalTimeout = d }(evalTimeout)
	evalTimeout = 3 * time.Second
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "Range(") || strings.Contains(text, "Repeat(") {
			t.Skip("unbounded builtin")
		}
		start := time.Now()
		_, err := LoadFS(context.Background(), exampleFS(text), "environments/fuzz")
		if took := time.Since(start); took > evalTimeout+5*time.Second {
			t.Fatalf("Load took %s, past its %s deadline", took, evalTimeout)
		}
		if err != nil {
			checkRejection(t, err)
		}
	})
}

// FuzzRender renders perturbed examples: the result is a verified tree
// with no credential in it, or a positioned, redacted refusal of the input.
func FuzzRender(f *testing.F) {
	for _, name := range vigil.ExampleNames {
		b, err := fs.ReadFile(vigil.Examples, "environments/"+name+"/env.cue")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	seeds(f, "render")
	f.Fuzz(func(t *testing.T, text string) {
		r, err := Render(context.Background(), []Source{{Dir: "environments/fuzz", FS: exampleFS(text)}})
		if err != nil {
			checkRejection(t, err)
			return
		}
		for _, p := range r.Tree.Paths() {
			b, _ := r.Tree.File(p)
			if strings.Contains(string(b), "\x00") {
				t.Errorf("%s holds a NUL byte", p)
			}
		}
	})
}
