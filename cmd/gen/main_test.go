package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vigil-stack/vigil/generate/stacktest"
)

// cleanup removes the test cache after the tests (testscript.Main exits).
type cleanup struct {
	testscript.TestingM
	dir string
}

func (c cleanup) Run() int {
	defer os.RemoveAll(c.dir)
	return c.TestingM.Run()
}

func TestMain(tm *testing.M) {
	var m testscript.TestingM = tm
	// The tests that call run directly must not write the user's render
	// cache; scripts (run as "gen") get one per script from Setup.
	if filepath.Base(os.Args[0]) != "gen" {
		dir, err := os.MkdirTemp("", "vigil-test-cache-")
		if err != nil {
			panic(err)
		}
		os.Setenv("XDG_CACHE_HOME", dir)
		m = cleanup{m, dir}
	}
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
			// Each script gets a render cache of its own, so that scripts
			// exercise the cache and never share or touch the user's.
			e.Setenv("XDG_CACHE_HOME", filepath.Join(e.WorkDir, ".cache"))
			return nil
		},
		UpdateScripts: *stacktest.Update,
	})
}
