package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vigil-stack/vigil/generate/stacktest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gen": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script: each txtar file is
// the input, the commands and the output wanted, in one readable place.
func TestScripts(t *testing.T) {
	root := stacktest.RepoRoot()
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("REPO", root)
			return nil
		},
		UpdateScripts: *stacktest.Update,
	})
}
